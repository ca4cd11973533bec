import Foundation

/// The database schema as numbered SQL files (`migrations/sql/NNNN_name.sql`),
/// shipped inside the binary as resources and applied in order at start-up.
public enum SchemaMigrations {
    /// One migration: its number, its name and its SQL.
    public struct Migration: Sendable {
        public let number: Int
        public let name: String
        public let sql: String
    }

    /// Every migration of the service database, in order.
    public static func all() throws -> [Migration] {
        try migrations(in: "sql")
    }

    /// Every migration of the feed generator's own database
    /// (`migrations/feedgen`), in order.
    public static func feedGenerator() throws -> [Migration] {
        try migrations(in: "feedgen")
    }

    private static func migrations(in folderName: String) throws -> [Migration] {
        guard let folder = Bundle.module.url(forResource: folderName, withExtension: nil) else {
            throw CocoaError(.fileNoSuchFile, userInfo: [NSLocalizedDescriptionKey: "migrations/\(folderName) is not bundled"])
        }
        let files = try FileManager.default.contentsOfDirectory(at: folder, includingPropertiesForKeys: nil)
            .filter { $0.pathExtension == "sql" }
        return try files.compactMap { url -> Migration? in
            let name = url.deletingPathExtension().lastPathComponent
            guard let number = Int(name.prefix { $0.isNumber }) else { return nil }
            return Migration(number: number, name: name, sql: try String(contentsOf: url, encoding: .utf8))
        }
        .sorted { $0.number < $1.number }
    }
}
