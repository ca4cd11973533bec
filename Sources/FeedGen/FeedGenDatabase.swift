import Foundation
import GRDB
import Migrations
import ServiceStorage

/// The feed generator's own SQLite database (`<dataDirectory>/feedgen.sqlite`,
/// WAL mode), separate from the PDS's so index writes never wait for the
/// PDS's write lock, with the migrations of `migrations/feedgen` applied.
public enum FeedGenDatabase {
    /// The file name inside the data directory.
    public static let fileName = "feedgen.sqlite"

    /// Opens (creating if needed) the database at `path` and migrates it.
    public static func open(path: String) throws -> DatabasePool {
        try ServiceDatabase.open(path: path, migrations: SchemaMigrations.feedGenerator())
    }
}
