import Foundation
import GRDB
import Migrations

/// A SQLite database of this project (WAL mode) with its numbered
/// migrations applied in order: the service's (`migrations/sql`) unless
/// others are given (the feed generator's, `migrations/feedgen`).
public enum ServiceDatabase {
    /// The page cache of the writer connection, in KiB.
    static let writerCacheKibibytes = 32 * 1024

    /// Opens (creating if needed) the database at `path` and applies
    /// `migrations` (by default the service's own, `migrations/sql`).
    public static func open(path: String, migrations: [SchemaMigrations.Migration]? = nil) throws -> DatabasePool {
        var config = Configuration()
        config.busyMode = .timeout(5)
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
            if !db.configuration.readonly {
                // The writer builds commits: the repositories' recent pages
                // stay in its cache (readers lose theirs at every write).
                try db.execute(sql: "PRAGMA cache_size = -\(writerCacheKibibytes)")
                // Savepoints' journals in memory, not in temporary files.
                try db.execute(sql: "PRAGMA temp_store = MEMORY")
            }
        }
        let pool = try DatabasePool(path: path, configuration: config)
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
