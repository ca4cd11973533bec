import Foundation
import GRDB
import Migrations

/// The feed generator's own SQLite database (`<dataDirectory>/feedgen.sqlite`,
/// WAL mode), separate from the PDS's so index writes never wait for the
/// PDS's write lock, with the migrations of `migrations/feedgen` applied.
public enum FeedGenDatabase {
    /// The file name inside the data directory.
    public static let fileName = "feedgen.sqlite"

    /// Opens (creating if needed) the database at `path` and migrates it.
    public static func open(path: String) throws -> DatabasePool {
        var config = Configuration()
        config.busyMode = .timeout(5)
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
        }
        let pool = try DatabasePool(path: path, configuration: config)
        var migrator = DatabaseMigrator()
        for migration in try SchemaMigrations.feedGenerator() {
            migrator.registerMigration(migration.name) { db in
                try db.execute(sql: migration.sql)
            }
        }
        try migrator.migrate(pool)
        return pool
    }
}
