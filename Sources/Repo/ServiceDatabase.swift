import Foundation
import GRDB
import Migrations

/// The service's one SQLite database (WAL mode), with every numbered
/// migration of `migrations/sql` applied in order.
public enum ServiceDatabase {
    /// Opens (creating if needed) the database at `path` and migrates it.
    public static func open(path: String) throws -> DatabasePool {
        var config = Configuration()
        config.busyMode = .timeout(5)
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
        }
        let pool = try DatabasePool(path: path, configuration: config)
        try migrate(pool)
        return pool
    }

    /// Applies the migrations not applied yet.
    public static func migrate(_ writer: any DatabaseWriter) throws {
        var migrator = DatabaseMigrator()
        for migration in try SchemaMigrations.all() {
            migrator.registerMigration(migration.name) { db in
                try db.execute(sql: migration.sql)
            }
        }
        try migrator.migrate(writer)
    }
}
