import ATProto
import Sequencer
import Synchronization

/// Answers of `com.atproto.repo.getRecord` kept in memory, so that a record
/// read again is served without going to the database.
///
/// Staleness is ruled out per account. Every change that can alter an
/// answer (a commit, a handle change, a status change, a deletion, an
/// import) appends an event of the account to the log in the same
/// transaction; ``accountChanged(_:)`` is then called for that account (by
/// ``AccountChangeObserver`` when the transaction commits, before the
/// writer's request is answered, and by the sequencer hub for events
/// written by other processes such as `pds account takedown`). It makes
/// every cached answer of the account stale at once.
///
/// A reader takes a ``ReadStamp`` *before* it reads the database and hands
/// it back with what it read: the answer is kept only when its account has
/// not changed since the stamp was taken, so a read that raced a write never
/// stores the value the write replaced.
///
/// Memory is bounded by ``capacity`` bytes (an estimate: the body, the key
/// and a fixed overhead per entry); the oldest entries go first.
public final class RecordReadCache: Sendable {
    /// What a `getRecord` call asks for, as the client named it (the repo by
    /// handle or DID).
    public struct Key: Hashable, Sendable {
        public let repo: String
        public let collection: NSID
        public let rkey: RecordKey

        public init(repo: String, collection: NSID, rkey: RecordKey) {
            self.repo = repo
            self.collection = collection
            self.rkey = rkey
        }
    }

    /// A cached answer: the account it belongs to, the record's CID and the
    /// JSON body of the response.
    public struct Answer: Sendable {
        public let did: DID
        public let cid: CID
        public let body: [UInt8]

        public init(did: DID, cid: CID, body: [UInt8]) {
            self.did = did
            self.cid = cid
            self.body = body
        }
    }

    /// A point in the cache's history, taken before a database read.
    public struct ReadStamp: Sendable {
        fileprivate let clock: UInt64
    }

    private struct Entry {
        let answer: Answer
        /// The clock value the answer was read at.
        let clock: UInt64
        let cost: Int
        /// Which insertion this is (an entry in `order` for a key stored
        /// again since is dead).
        let serial: UInt64
    }

    private struct State {
        var entries: [Key: Entry] = [:]
        /// Keys in insertion order, from `head` on, with the serial of the
        /// insertion (a key stored again appears again, with a new serial).
        var order: [(key: Key, serial: UInt64)] = []
        var serial: UInt64 = 0
        var head = 0
        var bytes = 0
        /// Advances on every change of an account.
        var clock: UInt64 = 0
        /// The clock value of each account's last change.
        var changedAt: [DID: UInt64] = [:]
        /// Answers read before this clock value are not stored (set when
        /// `changedAt` is emptied).
        var floor: UInt64 = 0
    }

    /// Most bytes the entries may take.
    public let capacity: Int
    private let state = Mutex(State())

    /// Fixed cost counted per entry besides its body and key.
    static let entryOverhead = 160
    /// Accounts whose last change is remembered; past that the memory is
    /// emptied, with every entry (far more than the accounts one server
    /// hosts, whose events are the only ones it sees).
    let maxTrackedAccounts: Int

    public init(capacity: Int, maxTrackedAccounts: Int = 100_000) {
        self.capacity = max(0, capacity)
        self.maxTrackedAccounts = max(1, maxTrackedAccounts)
    }

    /// The cached answer to `key`, unless its account changed since it was
    /// read.
    public func answer(for key: Key) -> Answer? {
        guard capacity > 0 else { return nil }
        return state.withLock { state in
            guard let entry = state.entries[key] else { return nil }
            guard entry.clock >= state.changedAt[entry.answer.did, default: 0] else {
                state.entries[key] = nil
                state.bytes -= entry.cost
                return nil
            }
            return entry.answer
        }
    }

    /// The stamp to take before reading the database for an answer to store.
    public func stamp() -> ReadStamp {
        state.withLock { ReadStamp(clock: $0.clock) }
    }

    /// Keeps `answer`, read from the database after `stamp` was taken,
    /// unless its account has changed since.
    public func store(_ answer: Answer, for key: Key, readAt stamp: ReadStamp) {
        let cost = answer.body.count + key.repo.utf8.count + key.collection.string.utf8.count + key.rkey.string.utf8.count
            + answer.did.string.utf8.count + Self.entryOverhead
        // One answer may not crowd out most of the others.
        guard capacity > 0, cost <= capacity / 4 else { return }
        state.withLock { state in
            guard stamp.clock >= state.floor, state.changedAt[answer.did, default: 0] <= stamp.clock else { return }
            if let old = state.entries[key] { state.bytes -= old.cost }
            state.serial += 1
            state.entries[key] = Entry(answer: answer, clock: stamp.clock, cost: cost, serial: state.serial)
            state.bytes += cost
            state.order.append((key, state.serial))
            Self.evict(&state, capacity: capacity)
        }
    }

    /// Makes every cached answer of the account `did` stale, and any answer
    /// of it being read now unstorable.
    public func accountChanged(_ did: DID) {
        guard capacity > 0 else { return }
        state.withLock { state in
            state.clock += 1
            if state.changedAt.count >= maxTrackedAccounts, state.changedAt[did] == nil {
                // Forgetting when accounts changed is safe only with no
                // entry left and no read in flight allowed to store.
                Self.empty(&state)
            }
            state.changedAt[did] = state.clock
        }
    }

    /// Drops every answer, and any answer being read now.
    public func clear() {
        state.withLock { state in
            state.clock += 1
            Self.empty(&state)
        }
    }

    private static func empty(_ state: inout State) {
        state.changedAt = [:]
        state.entries = [:]
        state.order = []
        state.head = 0
        state.bytes = 0
        state.floor = state.clock
    }

    /// The entries' estimated size in bytes and their number.
    public var usage: (bytes: Int, entries: Int) {
        state.withLock { ($0.bytes, $0.entries.count) }
    }

    /// Keys waiting in the eviction queue, dead ones included (for tests:
    /// it must stay in proportion to the entries).
    var queuedKeys: Int {
        state.withLock { $0.order.count - $0.head }
    }

    /// Drops the oldest entries until the rest fit.
    private static func evict(_ state: inout State, capacity: Int) {
        while state.bytes > capacity, state.head < state.order.count {
            let (key, serial) = state.order[state.head]
            state.head += 1
            // Only the insertion that is still in the table counts.
            if let entry = state.entries[key], entry.serial == serial {
                state.entries[key] = nil
                state.bytes -= entry.cost
            }
        }
        // Drop the consumed front of the queue once it is most of it.
        if state.head > 1_024, state.head * 2 > state.order.count {
            state.order.removeFirst(state.head)
            state.head = 0
        }
        // Keys stored again, or whose entries went stale, leave dead keys
        // behind: keep only the live ones when they are few.
        if state.order.count - state.head > 4 * max(64, state.entries.count) {
            let entries = state.entries
            state.order = state.order[state.head...].filter { entries[$0.key]?.serial == $0.serial }
            state.head = 0
        }
    }
}

extension RecordReadCache: SequencerSink {
    /// Events the hub reads from the log, including those written by other
    /// processes: each one's account has changed.
    public func deliver(_ events: [SequencedEvent]) {
        for event in events { accountChanged(event.did) }
    }
}
