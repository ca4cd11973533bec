import PDSTestSupport
import Synchronization
import Testing

@testable import PDS

/// The per-repository write lock: one holder per key, waiters in arrival
/// order, other keys unaffected, and a throwing body still releases.
@Suite("KeyedLock")
struct KeyedLockTests {
    /// What the bodies did, shared between tasks.
    final class Record: Sendable {
        let entries = Mutex<[Int]>([])
        let holders = Mutex<[String: Int]>([:])
        let overlapped = Mutex(false)
        let counter = Mutex(0)

        func enter(_ key: String) {
            let overlap = holders.withLock { held in
                defer { held[key, default: 0] += 1 }
                return held[key, default: 0] > 0
            }
            if overlap { overlapped.withLock { $0 = true } }
        }

        func leave(_ key: String, _ entry: Int) {
            holders.withLock { $0[key, default: 0] -= 1 }
            entries.withLock { $0.append(entry) }
        }
    }

    @Test func oneHolderPerKeyAndNoLostUpdates() async throws {
        let lock = KeyedLock<String>()
        let record = Record()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for n in 0..<300 {
                group.addTask {
                    try await lock.withLock("repo-\(n % 3)") {
                        record.enter("repo-\(n % 3)")
                        await Task.yield()
                        record.leave("repo-\(n % 3)", n)
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(!record.overlapped.withLock { $0 })
        #expect(record.entries.withLock { $0.count } == 300)

        // A read-modify-write with a suspension in the middle loses nothing.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<200 {
                group.addTask {
                    try await lock.withLock("one") {
                        let before = record.counter.withLock { $0 }
                        await Task.yield()
                        record.counter.withLock { $0 = before + 1 }
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(record.counter.withLock { $0 } == 200)
    }

    @Test func waitersAreServedInArrivalOrderAndOtherKeysRunMeanwhile() async throws {
        let lock = KeyedLock<String>()
        let record = Record()
        let (gate, open) = AsyncStream<Void>.makeStream()
        let holder = Task {
            try await lock.withLock("a") {
                for await _ in gate { break }
                record.leave("a", 0)
            }
        }
        try await Task.sleep(for: .milliseconds(50))
        var waiters: [Task<Void, any Error>] = []
        for n in 1...5 {
            waiters.append(Task { try await lock.withLock("a") { record.leave("a", n) } })
            try await Task.sleep(for: .milliseconds(20))
        }
        // Another key is free while "a" is held.
        let other = try await lock.withLock("b") { "ran" }
        #expect(other == "ran")
        #expect(record.entries.withLock { $0 }.isEmpty)
        open.yield()
        try await holder.value
        for waiter in waiters { try await waiter.value }
        #expect(record.entries.withLock { $0 } == [0, 1, 2, 3, 4, 5])
    }

    @Test func aThrowingBodyReleasesTheLock() async throws {
        struct Failure: Error {}
        let lock = KeyedLock<String>()
        await #expect(throws: Failure.self) { try await lock.withLock("a") { throw Failure() } }
        let value = try await lock.withLock("a") { 42 }
        #expect(value == 42)
    }
}
