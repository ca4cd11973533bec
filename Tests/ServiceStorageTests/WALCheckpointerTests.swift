import Foundation
import GRDB
import Testing

@testable import ServiceStorage

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

    /// Under a steady stream of commits the last commit's frames are never
    /// copied when the next begins, so the log only starts over through a
    /// checkpoint on the writer between two transactions, asked for once
    /// the log passes the restart threshold.
    @Test func theWriterRestartsTheLogOnceItPassesTheThreshold() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("wal-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("db.sqlite").path
        let pool = try ServiceDatabase.open(path: path, migrations: [], writerCheckpointPages: WALCheckpointer.writerPages)
        let checkpointer = try WALCheckpointer(path: path, restartPages: 400)
        let megabyte = Data(count: 1 << 20)
        func insert() throws {
            try pool.writeWithoutTransaction { try $0.execute(sql: "INSERT INTO t VALUES (?)", arguments: [megabyte]) }
        }
        try pool.write { try $0.execute(sql: "CREATE TABLE t (b BLOB)") }
        try insert()

        // A reader on this snapshot keeps the checkpoint from copying what
        // follows, as the writer's next commits would in a stream.
        var readerConfig = Configuration()
        readerConfig.allowsUnsafeTransactions = true
        let reader = try DatabaseQueue(path: path, configuration: readerConfig)
        try reader.writeWithoutTransaction { db in
            try db.execute(sql: "BEGIN")
            _ = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM t")
        }
        try insert()
        #expect(try pool.writeWithoutTransaction { checkpointer.restartLogIfDue(writer: $0) } == false, "not due yet")
        let (frames, copied) = try checkpointer.checkpoint()
        #expect(frames > 400 && copied < frames)
        try reader.writeWithoutTransaction { try $0.execute(sql: "COMMIT") }

        // Not restarted: the next commit goes to the end of the log.
        let logPath = path + "-wal"
        let grown = try fileSize(logPath)
        try insert()
        #expect(try fileSize(logPath) > grown + (1 << 19))

        #expect(try pool.writeWithoutTransaction { checkpointer.restartLogIfDue(writer: $0) } == true)
        #expect(try pool.writeWithoutTransaction { checkpointer.restartLogIfDue(writer: $0) } == false, "done once")
        let full = try fileSize(logPath)
        try insert()
        #expect(try fileSize(logPath) == full, "the commit went to the log's beginning")
        let (framesAfter, _) = try checkpointer.checkpoint()
        #expect(framesAfter < frames)
        #expect(try pool.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM t") } == 4)
    }
}
