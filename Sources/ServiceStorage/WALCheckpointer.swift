import Dispatch
import GRDB
import Synchronization

/// Copies the write-ahead log back into the database file on a connection
/// and thread of its own, so that the writer connection, which every commit
/// waits for, does not stop for it, and tells the writer when to let the
/// log start over.
///
/// SQLite's own checkpoints run on the writer, inside the commit that
/// crosses `wal_autocheckpoint` pages, and include two `fdatasync`s. Here a
/// passive checkpoint (which never blocks the writer or readers) runs at
/// most every `interval` while writes happen. Each pass copies every page
/// changed since the last one once, however often it changed, and syncs
/// the database file: the pages commits keep changing (the ends of the
/// tables and indexes that grow, each repository's recent index leaves)
/// are copied once per pass, so passes every 250 ms rather than every
/// 50 ms copy fewer pages per commit (createRecord +7% in 20 s runs, 10
/// each side by side, about +2% in 8 and 30 s runs; a pass every second
/// was slower).
///
/// The log goes back to its beginning only when a write transaction starts
/// with every frame already copied, which under a steady stream of commits
/// takes a checkpoint on the writer itself (nothing else can copy the last
/// commit's frames before the next one begins). Such a checkpoint holds up
/// every waiting commit for its two `fdatasync`s (10-50 ms under load, on 2
/// cores), and SQLite's own threshold repeats it after every commit until
/// the log does restart (which fails while a reader still uses an older
/// frame): the writer spent a quarter of its time there and these stalls
/// made the p99 of createRecord. So the writer's own threshold is only a
/// backstop (``writerPages``). Once the log holds ``restartPages``, this
/// catches up twice more and reports a restart as due; the writer then
/// checkpoints once, after it has answered its group's commits
/// (``restartLogIfDue(writer:)``), and again at most every
/// ``restartRetryInterval`` while the log has not restarted.
public final class WALCheckpointer: Sendable {
    /// The log size, in pages, from which the writer is asked to let it
    /// start over (at 2 KiB pages, 512 MiB). Each restart holds up the
    /// commits waiting meanwhile (the writer's checkpoint syncs the
    /// database file), so under a sustained stream of commits their
    /// number sets the p99 of a write: at 2,300 createRecords/s (~80 MB of
    /// log a second) 128 MiB meant a restart every ~1.6 s, and four times
    /// that took the 30 s p99 from 17.6-22.4 ms to 16.4-17.6 ms (4 runs
    /// each, side by side). SQLite reuses the file, so under such load it
    /// stays at this size; a quieter server restarts the log at its next
    /// write after the checkpointer caught up and never grows it this far.
    public static let restartPages = 256_000
    /// The writer connection's own checkpoint threshold when this runs
    /// beside it, in log pages: a backstop for when restarts keep failing
    /// (a long read) and for writes that do not note themselves here.
    public static let writerPages = restartPages + 16_000
    /// Checkpoints run back to back before a restart is reported due.
    static let catchUpPasses = 2
    /// The least time between two restart checkpoints on the writer.
    public static let restartRetryInterval = Duration.milliseconds(250)

    private struct RestartState {
        var due = false
        var lastAttempt: ContinuousClock.Instant?
    }

    let connection: DatabaseQueue
    let interval: DispatchTimeInterval
    let restartPages: Int
    private let queue = DispatchQueue(label: "wal-checkpointer")
    private let scheduled = Mutex(false)
    private let restart = Mutex(RestartState())
    /// Checkpoint passes made so far (`/metrics`).
    private let passes = Atomic<Int>(0)
    public var passCount: Int { passes.load(ordering: .relaxed) }

    /// A checkpointer for the database at `path` (in WAL mode, opened by
    /// ``ServiceDatabase/open(path:migrations:writerCheckpointPages:)``
    /// with ``writerPages``).
    public init(
        path: String, interval: DispatchTimeInterval = .milliseconds(250), restartPages: Int = WALCheckpointer.restartPages
    ) throws {
        var config = Configuration()
        config.busyMode = .timeout(5)
        connection = try DatabaseQueue(path: path, configuration: config)
        self.interval = interval
        self.restartPages = restartPages
    }

    /// A transaction committed on the writer: a checkpoint runs within
    /// `interval` (one for any number of notes meanwhile).
    public func noteWrite() {
        let schedule = scheduled.withLock { pending in
            if pending { return false }
            pending = true
            return true
        }
        guard schedule else { return }
        queue.asyncAfter(deadline: .now() + interval) { [self] in
            scheduled.withLock { $0 = false }
            _ = try? checkpoint()
        }
    }

    /// Copies what it can of the log now.
    /// - Returns: the frames in the log and how many of them are copied.
    @discardableResult
    public func checkpoint() throws -> (walFrameCount: Int, checkpointedFrameCount: Int) {
        passes.add(1, ordering: .relaxed)
        var result = try connection.writeWithoutTransaction { try $0.checkpoint(.passive) }
        if result.walFrameCount >= restartPages {
            // Catch up with the frames written meanwhile, twice, so that
            // the writer's checkpoint, which holds up commits, has little
            // left to copy and sync.
            for _ in 0..<Self.catchUpPasses {
                result = try connection.writeWithoutTransaction { try $0.checkpoint(.passive) }
            }
            restart.withLock { $0.due = true }
        }
        return result
    }

    /// Called on the writer connection between transactions: when the log
    /// has grown past ``restartPages``, checkpoints it there, so that the
    /// writer's next transaction starts the log over. A no-op otherwise.
    /// - Returns: whether it checkpointed.
    @discardableResult
    public func restartLogIfDue(writer db: Database) -> Bool {
        let now = ContinuousClock.now
        let attempt = restart.withLock { state -> Bool in
            guard state.due else { return false }
            if let last = state.lastAttempt, now - last < Self.restartRetryInterval { return false }
            state.due = false
            state.lastAttempt = now
            return true
        }
        guard attempt else { return false }
        _ = try? db.checkpoint(.passive)
        return true
    }
}
