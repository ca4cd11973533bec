import Foundation
import GRDB
import PDSTestSupport
import Repo
import ServiceStorage
import Synchronization
import Testing

@testable import PDS

/// The writer's commit queue: groups of waiting commits in one transaction,
/// each commit failing or succeeding on its own.
@Suite("Commit queue")
struct CommitQueueTests {
    struct Refused: Error {}

    final class Gate: Sendable {
        private let opened = Atomic<Bool>(false)
        var isOpen: Bool { opened.load(ordering: .acquiring) }
        func open() { opened.store(true, ordering: .releasing) }
    }

    final class Counter: Sendable {
        let atomic = Atomic<Int>(0)
        var value: Int { atomic.load(ordering: .relaxed) }
    }

    /// A pool with a scratch table, and a queue over it counting the
    /// transactions that stored something.
    func queue(maxGroupSize: Int = 32) throws -> (CommitQueue<Int>, DatabasePool, Counter, URL) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("commit-queue-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let pool = try ServiceDatabase.open(path: dir.appendingPathComponent("q.sqlite").path, migrations: [])
        try pool.write { try $0.execute(sql: "CREATE TABLE t (v INTEGER NOT NULL UNIQUE)") }
        let stored = Counter()
        return (CommitQueue(pool: pool, maxGroupSize: maxGroupSize) { stored.atomic.add(1, ordering: .relaxed) }, pool, stored, dir)
    }

    func values(_ pool: DatabasePool) throws -> [Int] {
        try pool.read { try Int.fetchAll($0, sql: "SELECT v FROM t ORDER BY v") }
    }

    /// Holds the writer until `release` is opened, so that the commits
    /// submitted meanwhile all wait and form one group.
    func blockWriter(_ pool: DatabasePool) -> Gate {
        let release = Gate()
        let started = DispatchSemaphore(value: 0)
        pool.asyncWriteWithoutTransaction { _ in
            started.signal()
            while !release.isOpen { usleep(1000) }
        }
        started.wait()
        return release
    }

    /// Inserts each of `values` by its own commit, all submitted while the
    /// writer is held, so that they form groups as soon as it is free.
    func insertWhileTheWriterIsHeld(_ values: Range<Int>, queue: CommitQueue<Int>, pool: DatabasePool) async throws {
        let release = blockWriter(pool)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for n in values {
                group.addTask {
                    _ = try await queue.commit { db in
                        try db.execute(sql: "INSERT INTO t (v) VALUES (?)", arguments: [n])
                        return n
                    }
                }
            }
            try await Task.sleep(for: .milliseconds(200))
            release.open()
            try await group.waitForAll()
        }
    }

    @Test func aRefusedCommitFailsAloneInItsGroup() async throws {
        let (queue, pool, stored, dir) = try queue()
        defer { try? FileManager.default.removeItem(at: dir) }
        let release = blockWriter(pool)
        let outcomes = try await withThrowingTaskGroup(of: (Int, Bool).self) { group in
            for n in 0..<10 {
                group.addTask {
                    do {
                        return (n, try await queue.commit { db in
                            try db.execute(sql: "INSERT INTO t (v) VALUES (?)", arguments: [n])
                            // Odd commits write, then refuse: their row must not stay.
                            if n % 2 == 1 { throw Refused() }
                            return n
                        } == n)
                    } catch is Refused {
                        return (n, false)
                    }
                }
            }
            // Let every commit reach the queue before the writer is free.
            try await Task.sleep(for: .milliseconds(200))
            release.open()
            return try await group.reduce(into: [Int: Bool]()) { $0[$1.0] = $1.1 }
        }
        #expect(outcomes.count == 10)
        for n in 0..<10 { #expect(outcomes[n] == (n % 2 == 0)) }
        #expect(try values(pool) == [0, 2, 4, 6, 8])
        #expect(stored.value == 1, "the ten commits were one transaction")
    }

    @Test func aDatabaseErrorFailsTheWholeGroup() async throws {
        let (queue, pool, stored, dir) = try queue()
        defer { try? FileManager.default.removeItem(at: dir) }
        let release = blockWriter(pool)
        let failures = try await withThrowingTaskGroup(of: Bool.self) { group in
            for n in 0..<4 {
                group.addTask {
                    do {
                        _ = try await queue.commit { db in
                            // The last one breaks the table's constraint.
                            try db.execute(sql: "INSERT INTO t (v) VALUES (?)", arguments: [n == 3 ? 0 : n])
                            return n
                        }
                        return false
                    } catch is DatabaseError {
                        return true
                    }
                }
            }
            try await Task.sleep(for: .milliseconds(200))
            release.open()
            return try await group.reduce(into: 0) { $0 += $1 ? 1 : 0 }
        }
        #expect(failures == 4)
        #expect(try values(pool) == [])
        #expect(stored.value == 0)
        // The queue goes on after a failed group.
        #expect(try await queue.commit { db in
            try db.execute(sql: "INSERT INTO t (v) VALUES (7)")
            return 7
        } == 7)
        #expect(try values(pool) == [7])
    }

    @Test func groupsAreBoundedAndEveryCommitIsStoredOnce() async throws {
        let (queue, pool, stored, dir) = try queue(maxGroupSize: 8)
        defer { try? FileManager.default.removeItem(at: dir) }
        try await insertWhileTheWriterIsHeld(0..<40, queue: queue, pool: pool)
        #expect(try values(pool) == Array(0..<40))
        #expect(stored.value == 5, "40 waiting commits in groups of at most 8")
    }

    /// The writer connection is handed over after each group (the WAL
    /// checkpointer restarts the log there): outside any transaction, with
    /// the group stored.
    @Test func theWriterIsHandedOverBetweenGroups() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("commit-queue-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let pool = try ServiceDatabase.open(path: dir.appendingPathComponent("q.sqlite").path, migrations: [])
        try await pool.write { try $0.execute(sql: "CREATE TABLE t (v INTEGER NOT NULL UNIQUE)") }
        let handovers = Mutex<[String]>([])
        let queue = CommitQueue<Int>(
            pool: pool, maxGroupSize: 8, onStored: {},
            betweenGroups: { db in
                let rows = (try? Int.fetchOne(db, sql: "SELECT COUNT(*) FROM t")) ?? -1
                handovers.withLock { $0.append("\(db.isInsideTransaction ? "in" : "out") \(rows)") }
            })
        try await insertWhileTheWriterIsHeld(0..<16, queue: queue, pool: pool)
        // The hand-over follows the answers: wait for the writer to be free.
        try await pool.write { _ in }
        #expect(handovers.withLock { $0 } == ["out 8", "out 16"])
    }
}
