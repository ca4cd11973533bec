import GRDB

/// A transaction a store can read through: a ``ReadTransaction`` or a
/// ``WriteTransaction``. Store methods that only read take `some
/// StoreReading`, so the same method serves a handler's read and the checks
/// inside a write.
///
/// `db` is for store files (named `…Store…` or kept under a `Stores/` or
/// `Storage/` folder), which import GRDB; handlers and services do not, and
/// hand the transaction value on without looking inside.
public protocol StoreReading {
    /// The connection the transaction runs on.
    var db: Database { get }
}

/// One read transaction: every store read through it sees the same
/// snapshot of the database.
public struct ReadTransaction: StoreReading {
    public let db: Database

    /// Wraps a connection inside a read (GRDB's `read` or a write's own).
    public init(_ db: Database) { self.db = db }
}

/// One write transaction, the unit of atomicity across stores: a handler
/// that changes two stores passes the same value to both, and either all
/// of the changes commit or none do.
public struct WriteTransaction: StoreReading {
    public let db: Database

    /// Wraps a connection inside a write transaction.
    public init(_ db: Database) { self.db = db }
}
