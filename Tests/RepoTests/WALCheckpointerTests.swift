import Foundation
import GRDB
import Testing

@testable import Repo

/// Checkpoints beside the writer: the writer keeps its log to a higher
/// threshold and the checkpointer copies the log into the file on its own
/// connection after writes.
@Suite("WAL checkpointer")
struct WALCheckpointerTests {
    func fileSize(_ path: String) throws -> Int {
        try FileManager.default.attributesOfItem(atPath: path)[.size] as! Int
    }

    @Test func writesReachTheFileThroughTheCheckpointerNotTheWriter() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("wal-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("db.sqlite").path
        let pool = try ServiceDatabase.open(path: path, migrations: [], writerCheckpointPages: WALCheckpointer.writerPages)
        #expect(try await pool.write { try Int.fetchOne($0, sql: "PRAGMA wal_autocheckpoint") } == WALCheckpointer.writerPages)
        let plain = try ServiceDatabase.open(path: dir.appendingPathComponent("plain.sqlite").path, migrations: [])
        #expect(try await plain.write { try Int.fetchOne($0, sql: "PRAGMA wal_autocheckpoint") } == 1000)

        try await pool.write { try $0.execute(sql: "CREATE TABLE t (b BLOB)") }
        let checkpointer = try WALCheckpointer(path: path, interval: .milliseconds(10))
        try checkpointer.checkpoint()
        let before = try fileSize(path)
        // 3 MB in ~1,500 log pages: past SQLite's threshold, below the writer's.
        for _ in 0..<3 {
            try await pool.write { try $0.execute(sql: "INSERT INTO t VALUES (?)", arguments: [Data(count: 1 << 20)]) }
        }
        #expect(try fileSize(path) < before + (1 << 20), "the writer checkpointed")

        checkpointer.noteWrite()
        checkpointer.noteWrite()
        let deadline = Date().addingTimeInterval(10)
        while try fileSize(path) < before + 3 * (1 << 20), Date() < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(try fileSize(path) >= before + 3 * (1 << 20))
        let (frames, copied) = try checkpointer.checkpoint()
        #expect(frames > 1000 && copied == frames)
        #expect(try await pool.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM t") } == 3)
    }
}
