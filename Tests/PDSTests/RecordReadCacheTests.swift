import ATProto
import Foundation
import PDSTestSupport
import Synchronization
import Testing

@testable import PDS

@Suite("Record read cache")
struct RecordReadCacheTests {
    static func answer(_ did: String, _ text: String) -> RecordReadCache.Answer {
        .init(did: try! DID(did), cid: CID.compute(Array(text.utf8)), body: Array("{\"text\":\"\(text)\"}".utf8))
    }

    static func key(_ repo: String, _ rkey: String) -> RecordReadCache.Key {
        .init(repo: repo, collection: try! NSID("app.bsky.feed.post"), rkey: try! RecordKey(rkey))
    }

    @Test func anAccountsChangeMakesOnlyItsAnswersStale() {
        let cache = RecordReadCache(capacity: 1 << 20)
        cache.store(Self.answer("did:plc:alice", "a1"), for: Self.key("did:plc:alice", "1"), readAt: cache.stamp())
        cache.store(Self.answer("did:plc:alice", "a2"), for: Self.key("alice.test", "2"), readAt: cache.stamp())
        cache.store(Self.answer("did:plc:bob", "b1"), for: Self.key("did:plc:bob", "1"), readAt: cache.stamp())
        #expect(cache.answer(for: Self.key("did:plc:alice", "1"))?.body == Self.answer("did:plc:alice", "a1").body)
        #expect(cache.answer(for: Self.key("alice.test", "2"))?.did.string == "did:plc:alice")
        #expect(cache.answer(for: Self.key("did:plc:alice", "3")) == nil)

        cache.accountChanged(try! DID("did:plc:alice"))
        // Stale whether the client named the account by DID or by handle.
        #expect(cache.answer(for: Self.key("did:plc:alice", "1")) == nil)
        #expect(cache.answer(for: Self.key("alice.test", "2")) == nil)
        #expect(cache.answer(for: Self.key("did:plc:bob", "1"))?.did.string == "did:plc:bob")
        #expect(cache.usage.entries == 1)

        // Read after the change: kept.
        cache.store(Self.answer("did:plc:alice", "a1 new"), for: Self.key("did:plc:alice", "1"), readAt: cache.stamp())
        #expect(cache.answer(for: Self.key("did:plc:alice", "1"))?.body == Self.answer("did:plc:alice", "a1 new").body)
    }

    @Test func aReadThatRacedAChangeIsNotStored() {
        let cache = RecordReadCache(capacity: 1 << 20)
        let before = cache.stamp()
        cache.accountChanged(try! DID("did:plc:alice"))
        // The read began before the change: what it read may be the old value.
        cache.store(Self.answer("did:plc:alice", "old"), for: Self.key("did:plc:alice", "1"), readAt: before)
        #expect(cache.answer(for: Self.key("did:plc:alice", "1")) == nil)
        // Another account's read from the same moment is fine.
        cache.store(Self.answer("did:plc:bob", "b"), for: Self.key("did:plc:bob", "1"), readAt: before)
        #expect(cache.answer(for: Self.key("did:plc:bob", "1")) != nil)
    }

    @Test func memoryStaysWithinTheCapacityOldestFirst() {
        let capacity = 64 * 1024
        let cache = RecordReadCache(capacity: capacity)
        var most = 0
        for i in 0..<5_000 {
            cache.store(Self.answer("did:plc:alice", "record \(i)"), for: Self.key("did:plc:alice", "\(i)"), readAt: cache.stamp())
            most = max(most, cache.usage.bytes)
        }
        #expect(most <= capacity)
        #expect(cache.usage.entries > 100)
        #expect(cache.answer(for: Self.key("did:plc:alice", "4999")) != nil)
        #expect(cache.answer(for: Self.key("did:plc:alice", "0")) == nil)
        // One answer may not take more than a quarter of the cache.
        let big = RecordReadCache.Answer(did: try! DID("did:plc:alice"), cid: CID.compute([1]), body: [UInt8](repeating: 32, count: capacity / 4))
        cache.store(big, for: Self.key("did:plc:alice", "big"), readAt: cache.stamp())
        #expect(cache.answer(for: Self.key("did:plc:alice", "big")) == nil)
        // Re-storing the same keys does not grow the count of bytes.
        let settled = cache.usage
        for _ in 0..<3 {
            for i in 4_900..<5_000 {
                cache.store(Self.answer("did:plc:alice", "record \(i)"), for: Self.key("did:plc:alice", "\(i)"), readAt: cache.stamp())
            }
        }
        #expect(cache.usage.bytes <= settled.bytes)
    }

    @Test func aKeyStoredAgainAndAgainDoesNotGrowTheQueue() {
        let cache = RecordReadCache(capacity: 1 << 20)
        let stamp = cache.stamp()
        var longest = 0
        for i in 0..<10_000 {
            cache.store(Self.answer("did:plc:alice", "hot"), for: Self.key("did:plc:alice", "\(i % 3)"), readAt: stamp)
            longest = max(longest, cache.queuedKeys)
        }
        #expect(cache.usage.entries == 3)
        #expect(longest <= 4 * 64 + 1)
    }

    @Test func clearDropsEverythingAndReadsInFlight() {
        let cache = RecordReadCache(capacity: 1 << 20)
        cache.store(Self.answer("did:plc:alice", "a"), for: Self.key("did:plc:alice", "1"), readAt: cache.stamp())
        let inFlight = cache.stamp()
        cache.clear()
        #expect(cache.usage.entries == 0 && cache.usage.bytes == 0)
        cache.store(Self.answer("did:plc:bob", "b"), for: Self.key("did:plc:bob", "1"), readAt: inFlight)
        #expect(cache.answer(for: Self.key("did:plc:bob", "1")) == nil)
        cache.store(Self.answer("did:plc:bob", "b"), for: Self.key("did:plc:bob", "1"), readAt: cache.stamp())
        #expect(cache.answer(for: Self.key("did:plc:bob", "1")) != nil)
    }

    @Test func forgettingWhenAccountsChangedDropsEveryAnswer() {
        let cache = RecordReadCache(capacity: 1 << 20, maxTrackedAccounts: 3)
        for name in ["a", "b", "c"] { cache.accountChanged(try! DID("did:plc:\(name)")) }
        cache.store(Self.answer("did:plc:z", "z"), for: Self.key("did:plc:z", "1"), readAt: cache.stamp())
        let inFlight = cache.stamp()
        // A fourth account: the table of changes is emptied, and with it the answers.
        cache.accountChanged(try! DID("did:plc:d"))
        #expect(cache.usage.entries == 0)
        cache.store(Self.answer("did:plc:a", "a"), for: Self.key("did:plc:a", "1"), readAt: inFlight)
        #expect(cache.answer(for: Self.key("did:plc:a", "1")) == nil)
    }

    @Test func aZeroCapacityCacheKeepsNothing() {
        let cache = RecordReadCache(capacity: 0)
        cache.store(Self.answer("did:plc:alice", "a"), for: Self.key("did:plc:alice", "1"), readAt: cache.stamp())
        #expect(cache.answer(for: Self.key("did:plc:alice", "1")) == nil)
        #expect(cache.usage.entries == 0)
    }

    @Test func concurrentReadersAndWritersNeverSeeAnAnswerFromBeforeTheLastChange() async {
        let cache = RecordReadCache(capacity: 256 * 1024)
        // Each writer bumps a version, then marks the account changed; each
        // reader stores what it "read" (the version at its stamp) and checks
        // that an answer it gets is never older than the version at the
        // time it looked.
        let version = VersionCounter()
        await withTaskGroup(of: Void.self) { group in
            for worker in 0..<8 {
                group.addTask {
                    for i in 0..<2_000 {
                        let did = "did:plc:\(i % 4)"
                        let key = Self.key(did, "\(i % 16)")
                        if worker == 0 && i % 10 == 0 {
                            version.bump(did)
                            cache.accountChanged(try! DID(did))
                            continue
                        }
                        let stamp = cache.stamp()
                        let seen = version.current(did)
                        cache.store(Self.answer(did, "v\(seen)"), for: key, readAt: stamp)
                        let floor = version.current(did)
                        if let hit = cache.answer(for: key) {
                            let text = String(decoding: hit.body, as: UTF8.self)
                            let v = Int(text.dropFirst("{\"text\":\"v".count).dropLast(2)) ?? -1
                            // A change is marked just after its version is bumped, so an
                            // answer may lag the counter by that one step, never more.
                            if v < floor - 1 { version.report("\(text) older than version \(floor)") }
                        }
                    }
                }
            }
        }
        #expect(version.reports == [])
        #expect(cache.usage.bytes <= 256 * 1024)
    }
}

/// Versions per account for the concurrency test, and what it found wrong.
private final class VersionCounter: Sendable {
    private let versions = Mutex<[String: Int]>([:])
    private let found = Mutex<[String]>([])
    func bump(_ did: String) { versions.withLock { $0[did, default: 0] += 1 } }
    func current(_ did: String) -> Int { versions.withLock { $0[did, default: 0] } }
    func report(_ problem: String) { found.withLock { $0.append(problem) } }
    var reports: [String] { found.withLock { $0 } }
}
