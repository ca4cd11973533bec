import GRDB

/// A service database as stores and handlers use it: they run
/// transactions (``ReadTransaction``, ``WriteTransaction``) and never see a
/// connection. Reads run on the pool's readers, concurrently with the one
/// writer; writes queue for the writer.
public struct StoreDatabase: Sendable {
    /// The connections, for store files and the storage plumbing (the
    /// commit queue, observers, the checkpointer).
    public let pool: DatabasePool

    /// Wraps an opened database (see ``ServiceDatabase/open(path:migrations:writerCheckpointPages:durability:)``).
    public init(pool: DatabasePool) { self.pool = pool }

    /// Runs `body` in a read transaction on a reader connection.
    public func read<T: Sendable>(_ body: @Sendable (ReadTransaction) throws -> T) async throws -> T {
        try await pool.read { db in try body(ReadTransaction(db)) }
    }

    /// Runs `body` in a write transaction, committed when it returns and
    /// rolled back when it throws.
    public func write<T: Sendable>(_ body: @Sendable (WriteTransaction) throws -> T) async throws -> T {
        try await pool.write { db in try body(WriteTransaction(db)) }
    }

    /// ``read(_:)`` on the calling thread, for the command line and code
    /// that is not async.
    public func readNow<T>(_ body: (ReadTransaction) throws -> T) throws -> T {
        try pool.read { db in try body(ReadTransaction(db)) }
    }

    /// ``write(_:)`` on the calling thread, for the command line and code
    /// that is not async.
    public func writeNow<T>(_ body: (WriteTransaction) throws -> T) throws -> T {
        try pool.write { db in try body(WriteTransaction(db)) }
    }
}
