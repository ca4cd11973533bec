import Foundation
import GRDB
import Migrations

/// A SQLite database of this project (WAL mode) with its numbered
/// migrations applied in order: the service's (`migrations/sql`) unless
/// others are given (the feed generator's, `migrations/feedgen`).
public enum ServiceDatabase {
    /// What an acknowledged write survives.
    public enum Durability: String, Sendable, Codable {
        /// `synchronous = NORMAL`: a commit is in the write-ahead log when it
        /// returns, and the log is synced at checkpoints. Survives a crash
        /// of the process (the operating system still has the log's pages);
        /// the last commits before a power failure or a kernel crash can be
        /// lost (never a corrupted database).
        case normal
        /// `synchronous = FULL`: the log is synced (fdatasync) before each
        /// commit returns, so acknowledged writes also survive a power
        /// failure. Commits waiting together share one sync.
        case full
    }

    /// The page cache of the writer connection, in KiB.
    static let writerCacheKibibytes = 32 * 1024
    /// The page size of a new database, in bytes. Blocks are keyed by CID,
    /// a hash, so a commit's new and removed blocks land on scattered
    /// B-tree pages, each written whole to the log and again by the
    /// checkpoint: half-size pages write less per commit (measured: ~13%
    /// fewer bytes written per createRecord and 10-15% more of them per
    /// second than with SQLite's 4,096). An existing database keeps the
    /// page size it was created with.
    static let pageSize = 2048

    /// Opens (creating if needed) the database at `path` and applies
    /// `migrations` (by default the service's own, `migrations/sql`).
    /// `writerCheckpointPages` replaces SQLite's checkpoint threshold (1,000
    /// log pages) on the writer, for a ``WALCheckpointer`` running beside it;
    /// `durability` sets what an acknowledged commit survives.
    public static func open(
        path: String, migrations: [SchemaMigrations.Migration]? = nil, writerCheckpointPages: Int? = nil,
        durability: Durability = .normal
    ) throws -> DatabasePool {
        try SQLiteTuning.install()
        var config = Configuration()
        config.busyMode = .timeout(5)
        let synchronous = durability == .full ? "FULL" : "NORMAL"
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = \(synchronous)")
            // Debian's SQLite is built with secure_delete on: every freed
            // page is overwritten with zeros and so written to the log. An
            // event log pass deleting 30,000 events wrote ~110 MB of zeroed
            // overflow pages (and every commit zeroes the MST nodes it
            // drops). FAST still clears deleted content on the pages a write
            // changes anyway, without writing the pages it frees.
            try db.execute(sql: "PRAGMA secure_delete = FAST")
            if !db.configuration.readonly {
                // Only takes effect while the file is still empty.
                try db.execute(sql: "PRAGMA page_size = \(pageSize)")
                // The writer builds commits: the repositories' recent pages
                // stay in its cache (readers lose theirs at every write).
                try db.execute(sql: "PRAGMA cache_size = -\(writerCacheKibibytes)")
                // Savepoints' journals in memory, not in temporary files.
                try db.execute(sql: "PRAGMA temp_store = MEMORY")
                if let writerCheckpointPages {
                    try db.execute(sql: "PRAGMA wal_autocheckpoint = \(writerCheckpointPages)")
                }
            }
        }
        let pool = try DatabasePool(path: path, configuration: config)
        // GRDB sets the writer to NORMAL after `prepareDatabase` when it
        // turns WAL on; the writer is one connection for the pool's life.
        try pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA synchronous = \(synchronous)") }
        try migrate(pool, migrations: migrations ?? SchemaMigrations.all())
        return pool
    }

    /// Applies the migrations not applied yet.
    public static func migrate(_ writer: any DatabaseWriter, migrations: [SchemaMigrations.Migration]? = nil) throws {
        var migrator = DatabaseMigrator()
        for migration in try migrations ?? SchemaMigrations.all() {
            migrator.registerMigration(migration.name) { db in
                try db.execute(sql: migration.sql)
            }
        }
        try migrator.migrate(writer)
    }
}
