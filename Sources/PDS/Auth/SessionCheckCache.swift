import ATProto
import Dispatch
import Synchronization

/// Recent answers of the session check every authenticated request makes
/// (is the session still open, and the account's row), so that a client
/// sending many requests costs one database read per second, not one per
/// request.
///
/// Changes made by this server are seen at once: ``SessionChangeObserver``
/// forgets every answer when a transaction that changed an account or a
/// session commits, and an answer read across such a commit is never kept
/// (see ``answer(sessionID:did:read:)``). Changes made by another process
/// on the same database (the `pds` command line) are seen within
/// ``lifetime``, when the answer is read again.
final class SessionCheckCache: Sendable {
    /// What the session check found.
    struct Answer: Sendable {
        let open: Bool
        let account: Account?
    }

    private struct Key: Hashable {
        let sessionID: String
        let did: DID
    }

    private struct Entry {
        let answer: Answer
        /// The ``generation`` the answer was read in.
        let generation: UInt64
        /// Uptime (nanoseconds) after which it is read again.
        let expires: UInt64
    }

    /// How long an answer is used before it is read again.
    let lifetime: Duration
    /// Answers kept at most; all are dropped when it is reached.
    static let capacity = 10_000
    /// Advances whenever accounts or sessions change; answers of an older
    /// generation are not used.
    private let generation = Atomic<UInt64>(0)
    private let entries = Mutex<[Key: Entry]>([:])

    init(lifetime: Duration = .seconds(1)) {
        self.lifetime = lifetime
    }

    /// The cached answer for this session, or the one `read` finds (which
    /// is then kept unless accounts or sessions changed meanwhile).
    func answer(sessionID: String, did: DID, read: () async throws -> Answer) async throws -> Answer {
        let key = Key(sessionID: sessionID, did: did)
        let now = DispatchTime.now().uptimeNanoseconds
        // Taken before the read: if a change commits while it runs, the
        // answer (perhaps read before the change) is stored under a
        // generation that is already past.
        let current = generation.load(ordering: .acquiring)
        if let entry = entries.withLock({ $0[key] }), entry.generation == current, entry.expires > now {
            return entry.answer
        }
        let answer = try await read()
        let (seconds, attoseconds) = lifetime.components
        let expires = now + UInt64(seconds) * 1_000_000_000 + UInt64(attoseconds / 1_000_000_000)
        entries.withLock { entries in
            if entries.count >= Self.capacity { entries.removeAll(keepingCapacity: true) }
            entries[key] = Entry(answer: answer, generation: current, expires: expires)
        }
        return answer
    }

    /// Forgets every answer (an account or a session changed).
    func invalidateAll() {
        generation.add(1, ordering: .releasing)
        entries.withLock { $0.removeAll(keepingCapacity: true) }
    }
}
