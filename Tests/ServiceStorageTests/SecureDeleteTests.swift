import Foundation
import GRDB
import Testing

@testable import ServiceStorage

/// Deleting rows writes the pages that change, not every page it frees
/// (Debian's SQLite zeroes and writes freed pages by default).
@Suite("Secure delete")
struct SecureDeleteTests {
    @Test func freeingPagesDoesNotWriteThemToTheLog() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("secure-delete-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let pool = try ServiceDatabase.open(path: dir.appendingPathComponent("db.sqlite").path, migrations: [])
        try await pool.write { db in
            try db.execute(sql: "CREATE TABLE t (id INTEGER PRIMARY KEY, b BLOB)")
            // 200 rows of 4.5 KB (an event's size): ~450 overflow pages of 2 KiB.
            for n in 0..<200 { try db.execute(sql: "INSERT INTO t VALUES (?, ?)", arguments: [n, Data(repeating: 7, count: 4_500)]) }
        }
        // Copy the log into the file and let it start over.
        _ = try await pool.writeWithoutTransaction { db in try Row.fetchOne(db, sql: "PRAGMA wal_checkpoint(TRUNCATE)") }
        try await pool.write { db in try db.execute(sql: "DELETE FROM t") }
        let frames = try await pool.writeWithoutTransaction { db in
            try Row.fetchOne(db, sql: "PRAGMA wal_checkpoint(PASSIVE)").map { $0[1] as Int } ?? -1
        }
        // With secure_delete on, the delete writes ~500 frames; FAST writes
        // the table's root, the freelist trunk and the header.
        #expect(frames >= 0 && frames < 20, "\(frames) log frames for the delete")
    }
}
