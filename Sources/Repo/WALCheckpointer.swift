import Dispatch
import GRDB
import Synchronization

/// Copies the write-ahead log back into the database file on a connection
/// and thread of its own, so that the writer connection, which every commit
/// waits for, does not stop for it.
///
/// SQLite's own checkpoints run on the writer, inside the commit that
/// crosses `wal_autocheckpoint` pages, and include two `fdatasync`s. Here a
/// passive checkpoint (which never blocks the writer or readers) runs at
/// most every `interval` while writes happen. The log restarts from its
/// beginning only after a checkpoint on the writer, so the writer keeps one
/// with a higher threshold (``writerPages``): by then this one has copied
/// nearly everything and the writer's is short.
public final class WALCheckpointer: Sendable {
    /// The writer's own checkpoint threshold when this runs beside it, in
    /// log pages.
    public static let writerPages = 16_000

    let connection: DatabaseQueue
    let interval: DispatchTimeInterval
    private let queue = DispatchQueue(label: "wal-checkpointer")
    private let scheduled = Mutex(false)

    /// A checkpointer for the database at `path` (in WAL mode, opened by
    /// ``ServiceDatabase/open(path:migrations:writerCheckpointPages:)``
    /// with ``writerPages``).
    public init(path: String, interval: DispatchTimeInterval = .milliseconds(50)) throws {
        var config = Configuration()
        config.busyMode = .timeout(5)
        connection = try DatabaseQueue(path: path, configuration: config)
        self.interval = interval
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
        try connection.writeWithoutTransaction { try $0.checkpoint(.passive) }
    }
}
