import GRDB
import ServiceStorage
import Synchronization

/// Commits to hosted repositories, stored one after another on the
/// database's writer connection, in groups.
///
/// Each job runs inside the writer's transaction, so it can check the
/// repository's current state and store a commit with nothing changing in
/// between (see ``RepoCommits``, which builds commits ahead in memory and
/// lets the job check or rebuild them): the writer connection is the
/// serialization point and no per-repository lock is needed. Every commit
/// waiting when the writer becomes free joins one transaction, each in its
/// own savepoint, so a write that fails (a swap check, a missing record)
/// fails alone while the others are stored. Grouping shares the
/// transaction's cost: the pages every commit touches, such as the event
/// log's tail, are written once per group.
///
/// A database error (disk full, I/O) fails every commit of its group:
/// SQLite may have rolled the whole transaction back.
final class CommitQueue<Output: Sendable>: Sendable {
    /// Builds and stores a commit on the writer connection; throws to
    /// refuse it.
    typealias Build = @Sendable (Database) throws -> Output

    private struct Job {
        let build: Build
        let continuation: CheckedContinuation<Output, any Error>
    }

    private struct State {
        var pending: [Job] = []
        /// True while a drain is scheduled or running on the writer.
        var draining = false
    }

    /// The most commits stored in one transaction: bounds the wait of the
    /// last commit of a group.
    let maxGroupSize: Int
    private let pool: DatabasePool
    private let state = Mutex(State())
    /// Runs after each transaction that stored at least one commit.
    private let onStored: @Sendable () -> Void
    /// Runs on the writer connection, outside any transaction, after each
    /// group's commits are answered (see
    /// ``WALCheckpointer/restartLogIfDue(writer:)``).
    private let betweenGroups: @Sendable (Database) -> Void
    /// Told each group's size (`/metrics`).
    private let onGroup: @Sendable (Int) -> Void

    init(
        pool: DatabasePool, maxGroupSize: Int = 32, onStored: @escaping @Sendable () -> Void,
        betweenGroups: @escaping @Sendable (Database) -> Void = { _ in }, onGroup: @escaping @Sendable (Int) -> Void = { _ in }
    ) {
        self.pool = pool
        self.maxGroupSize = maxGroupSize
        self.onStored = onStored
        self.betweenGroups = betweenGroups
        self.onGroup = onGroup
    }

    /// Commits waiting for the writer.
    var depth: Int { state.withLock { $0.pending.count } }

    /// Builds and stores one commit; returns once its transaction has
    /// committed, or throws the error that refused it.
    /// ``commit(_:)`` for code that works through stores: `build` gets the
    /// job's transaction (its savepoint in the group's transaction).
    func write(_ build: @escaping @Sendable (WriteTransaction) throws -> Output) async throws -> Output {
        try await commit { db in try build(WriteTransaction(db)) }
    }

    func commit(_ build: @escaping Build) async throws -> Output {
        try await withCheckedThrowingContinuation { continuation in
            let startDrain = state.withLock { s -> Bool in
                s.pending.append(Job(build: build, continuation: continuation))
                if s.draining { return false }
                s.draining = true
                return true
            }
            if startDrain {
                pool.asyncWriteWithoutTransaction { [self] db in drain(db) }
            }
        }
    }

    /// Stores groups until no commit is waiting.
    private func drain(_ db: Database) {
        while true {
            let group = state.withLock { s -> [Job] in
                let taken = Array(s.pending.prefix(maxGroupSize))
                s.pending.removeFirst(taken.count)
                if taken.isEmpty { s.draining = false }
                return taken
            }
            if group.isEmpty { return }
            onGroup(group.count)
            store(group, db: db)
            betweenGroups(db)
        }
    }

    private func store(_ group: [Job], db: Database) {
        var outcomes: [Result<Output, any Error>] = []
        outcomes.reserveCapacity(group.count)
        do {
            try db.inTransaction {
                for job in group {
                    do {
                        var result: Output?
                        try db.inSavepoint {
                            result = try job.build(db)
                            return .commit
                        }
                        outcomes.append(.success(result!))
                    } catch let error as DatabaseError {
                        throw error
                    } catch {
                        outcomes.append(.failure(error))
                    }
                }
                return .commit
            }
        } catch {
            outcomes = group.map { _ in .failure(error) }
        }
        if outcomes.contains(where: { if case .success = $0 { true } else { false } }) {
            onStored()
        }
        for (job, outcome) in zip(group, outcomes) {
            job.continuation.resume(with: outcome)
        }
    }
}
