import ATProto
import Synchronization

/// The latest commit this server built for each repository: the base the
/// next commit is built on in memory, before it reaches the writer (see
/// ``RepoCommits``). A tip may run ahead of the database (commits built and
/// not stored yet) or fall behind it (a change made elsewhere); the writer
/// stores a commit built on a tip only if its base is the repository's
/// current commit, and builds it again from the database otherwise.
final class CommitTips: Sendable {
    /// Past this many repositories, every tip is dropped (they come back
    /// with each repository's next commit).
    let capacity: Int
    private let tips = Mutex<[DID: CID]>([:])
    private let counts = Mutex(Counts())

    /// How this server's commit attempts were built since it started
    /// (refused ones included).
    struct Counts: Sendable, Equatable {
        /// Built in memory on a tip and stored as built.
        var builtAhead = 0
        /// Built in memory, then found stale by the writer (its base was
        /// no longer the current commit) and built again there.
        var builtAgain = 0
        /// Built on the writer only (no tip, or not buildable in memory).
        var builtOnWriter = 0
    }

    /// The counts so far.
    var built: Counts { counts.withLock { $0 } }

    /// Counts one commit attempt by how it was built.
    func count(_ path: WritableKeyPath<Counts, Int>) {
        counts.withLock { $0[keyPath: path] += 1 }
    }

    init(capacity: Int = 100_000) {
        self.capacity = capacity
    }

    /// The commit the next commit to `did` should build on, or nil when
    /// it is unknown (the commit is then built on the writer).
    func tip(_ did: DID) -> CID? {
        tips.withLock { $0[did] }
    }

    /// Moves the tip of `did` from `base` to `next`; false, changing
    /// nothing, when another commit moved it from `base` first.
    func advance(_ did: DID, from base: CID, to next: CID) -> Bool {
        tips.withLock { tips in
            guard tips[did] == base else { return false }
            tips[did] = next
            return true
        }
    }

    /// The writer stored `commit`, built from the database, as the
    /// current commit of `did`.
    func stored(_ did: DID, commit: CID) {
        tips.withLock { tips in
            if tips.count >= capacity && tips[did] == nil { tips.removeAll() }
            tips[did] = commit
        }
    }

    /// Forgets the tip of `did` (a commit to it failed: what the tip
    /// named may never be stored).
    func forget(_ did: DID) {
        _ = tips.withLock { $0.removeValue(forKey: did) }
    }
}
