import Foundation
import GRDB
import Synchronization
import Testing

@testable import ServiceStorage

/// The write-ahead log's writes are gathered per transaction, and nothing
/// another connection or the file system sees changes: every commit is in
/// the file when it returns, and readers see each commit at once.
@Suite("WAL write buffer")
struct WALWriteBufferTests {
    /// A fresh database of the service's kind (2 KiB pages, WAL) with a
    /// table whose rows land on scattered pages, as blocks keyed by CID do.
    func openDatabase() throws -> (pool: DatabasePool, path: String, cleanup: () -> Void) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("walbuf-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let path = dir.appendingPathComponent("db.sqlite").path
        let pool = try ServiceDatabase.open(path: path, migrations: [])
        try pool.write { try $0.execute(sql: "CREATE TABLE t (k BLOB PRIMARY KEY, v BLOB NOT NULL) WITHOUT ROWID") }
        return (pool, path, { try? FileManager.default.removeItem(at: dir) })
    }

    static func random(_ count: Int) -> Data { Data((0..<count).map { _ in UInt8.random(in: 0...255) }) }

    @Test func aTransactionsLogPagesTakeAFewWritesNotTwoPerPage() throws {
        let (pool, path, cleanup) = try openDatabase()
        defer { cleanup() }
        let logSize = { try FileManager.default.attributesOfItem(atPath: path + "-wal")[.size] as! Int }
        let sizeBefore = try logSize()
        // One GRDB access: every statement and commit runs on this
        // closure's thread, whose counts these are.
        let (requested, made) = try pool.writeWithoutTransaction { db in
            let before = SQLiteTuning.logWriteCounts
            for _ in 0..<50 {
                try db.inTransaction {
                    for _ in 0..<10 { try db.execute(sql: "INSERT INTO t VALUES (?, ?)", arguments: [Self.random(32), Self.random(300)]) }
                    return .commit
                }
            }
            let after = SQLiteTuning.logWriteCounts
            return (after.requested - before.requested, after.made - before.made)
        }
        // 50 commits of several pages each, two writes per page; one write
        // made per commit, and the log's header when it starts over (synced
        // on its own before the first frame).
        #expect(requested >= 50 * 2 * 3, "SQLite's log writes did not go through the buffer")
        #expect(made <= 50 + 2, "\(made) writes made for \(requested) asked in 50 commits")
        // And they are in the file: the log grew by at least a page per commit.
        #expect(try logSize() >= sizeBefore + 50 * 2048)
    }

    @Test func aReaderSeesEachCommitAsSoonAsItReturns() async throws {
        let (pool, _, cleanup) = try openDatabase()
        defer { cleanup() }
        // Readers on other connections check the table's invariant while
        // the writer commits: every row's value is 1,000 bytes.
        final class Flag: Sendable { let raised = Mutex(false) }
        let stop = Flag()
        let readers = (0..<2).map { _ in
            Task.detached {
                var reads = 0
                while !stop.raised.withLock({ $0 }) {
                    let (rows, bytes) = try await pool.read { db in
                        let row = try Row.fetchOne(db, sql: "SELECT COUNT(*), TOTAL(LENGTH(v)) FROM t")!
                        return (row[0] as Int, row[1] as Double)
                    }
                    #expect(Double(rows * 1000) == bytes)
                    reads += 1
                }
                return reads
            }
        }
        for i in 0..<300 {
            let key = Self.random(32)
            let value = Self.random(1000)
            try await pool.write { db in
                try db.execute(sql: "INSERT INTO t VALUES (?, ?)", arguments: [key, value])
                // Some commits change many pages (more than one write's worth).
                if i % 50 == 0 {
                    for _ in 0..<200 { try db.execute(sql: "INSERT INTO t VALUES (?, ?)", arguments: [Self.random(32), Self.random(1000)]) }
                }
            }
            let read = try await pool.read { try Data.fetchOne($0, sql: "SELECT v FROM t WHERE k = ?", arguments: [key]) }
            #expect(read == value, "commit \(i) not visible to a reader")
        }
        stop.raised.withLock { $0 = true }
        for reader in readers { #expect(try await reader.value > 0) }
        #expect(try await pool.read { try String.fetchOne($0, sql: "PRAGMA integrity_check") } == "ok")
        #expect(try await pool.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM t") } == 300 + 6 * 200)
    }

    /// A transaction larger than one write (the unix VFS writes at most
    /// 128 KiB per call) and a blob on overflow pages both commit whole.
    @Test func aTransactionOfManyMegabytesCommitsWhole() throws {
        let (pool, path, cleanup) = try openDatabase()
        defer { cleanup() }
        let blob = Self.random(3 << 20)
        var keys: [Data] = []
        try pool.write { db in
            try db.execute(sql: "INSERT INTO t VALUES (?, ?)", arguments: [Data("big".utf8), blob])
            for _ in 0..<2000 {
                let key = Self.random(32)
                keys.append(key)
                try db.execute(sql: "INSERT INTO t VALUES (?, ?)", arguments: [key, Self.random(500)])
            }
        }
        // A new connection, as another process would open it.
        let other = try DatabaseQueue(path: path)
        #expect(try other.read { try Data.fetchOne($0, sql: "SELECT v FROM t WHERE k = ?", arguments: [Data("big".utf8)]) } == blob)
        #expect(try other.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM t") } == 2001)
        #expect(try other.read { try String.fetchOne($0, sql: "PRAGMA integrity_check") } == "ok")
        // A rolled-back transaction leaves nothing behind.
        struct Abort: Error {}
        #expect(throws: Abort.self) {
            try pool.write { db in
                for _ in 0..<500 { try db.execute(sql: "INSERT INTO t VALUES (?, ?)", arguments: [Self.random(32), Self.random(500)]) }
                throw Abort()
            }
        }
        #expect(try other.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM t") } == 2001)
        try pool.write { try $0.execute(sql: "DELETE FROM t WHERE k = ?", arguments: [keys[0]]) }
        #expect(try other.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM t") } == 2000)
    }
}

/// SQLite's page cache is asked to drop the pages past the database's end
/// at every commit; the filter passes that on only when there can be such
/// pages.
@Suite("SQLite page cache truncation filter")
struct PageCacheTruncationTests {
    @Test func commitsAfterABalanceDoNotMakeTheCacheScan() throws {
        #expect(SQLiteTuning.pageCacheFilterInstalled)
        let (pool, _, cleanup) = try WALWriteBufferTests().openDatabase()
        defer { cleanup() }
        // One GRDB access: every statement runs on this closure's thread,
        // whose counts these are.
        let (truncations, passed, moves) = try pool.writeWithoutTransaction { db in
            let before = SQLiteTuning.pageCacheCounts
            for _ in 0..<100 {
                try db.inTransaction {
                    for _ in 0..<20 {
                        try db.execute(
                            sql: "INSERT INTO t VALUES (?, ?)", arguments: [WALWriteBufferTests.random(32), WALWriteBufferTests.random(300)])
                    }
                    return .commit
                }
            }
            let after = SQLiteTuning.pageCacheCounts
            return (after.truncations - before.truncations, after.passed - before.passed, after.temporaryMoves - before.temporaryMoves)
        }
        #expect(truncations >= 100, "a truncation per commit")
        #expect(moves > 0, "B-tree balances used the temporary page number (what makes the default cache scan)")
        #expect(passed == 0, "\(passed) of \(truncations) truncations passed on with nothing to drop")
    }

    @Test func pagesPastTheEndAreDroppedWhenThereAreSome() throws {
        let (pool, _, cleanup) = try WALWriteBufferTests().openDatabase()
        defer { cleanup() }
        try pool.write { try $0.execute(sql: "INSERT INTO t VALUES (?, ?)", arguments: [Data("a".utf8), Data(count: 10)]) }
        let (passed, count) = try pool.writeWithoutTransaction { db in
            let before = SQLiteTuning.pageCacheCounts
            // Grows the file by ~1,000 pages in the cache, then rolls back:
            // those pages are past the end again and must go.
            try db.inTransaction {
                try db.execute(sql: "INSERT INTO t VALUES (?, ?)", arguments: [Data("big".utf8), WALWriteBufferTests.random(2 << 20)])
                return .rollback
            }
            let passed = SQLiteTuning.pageCacheCounts.passed - before.passed
            // The same page numbers, given other content.
            try db.inTransaction {
                try db.execute(sql: "INSERT INTO t VALUES (?, ?)", arguments: [Data("other".utf8), Data(repeating: 7, count: 1 << 20)])
                return .commit
            }
            return (passed, try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM t")!)
        }
        #expect(passed >= 1, "the rollback's truncation was skipped")
        #expect(count == 2)
        #expect(try pool.read { try Data.fetchOne($0, sql: "SELECT v FROM t WHERE k = ?", arguments: [Data("other".utf8)]) } == Data(repeating: 7, count: 1 << 20))
        #expect(try pool.read { try String.fetchOne($0, sql: "PRAGMA integrity_check") } == "ok")
    }
}
