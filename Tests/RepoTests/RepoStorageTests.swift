import ATCrypto
import ATProto
import CAR
import Foundation
import GRDB
import MST
import Testing

@testable import Repo
@testable import ServiceStorage

@Suite("SQLite repository storage")
struct RepoStorageTests {
    let key = PrivateKey.generate(.secp256k1)
    let did = RepoTestSupport.did

    func blockCount(_ storage: RepoStorage) throws -> Int {
        try storage.pool.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM blockstore")! }
    }

    @Test func commitsAreStoredAndOnlyLiveBlocksKept() throws {
        let (storage, dir) = try RepoTestSupport.storage()
        defer { try? FileManager.default.removeItem(at: dir) }
        let rkeys = try RepoTestSupport.populated(storage, key: key, count: 300, batch: 25)
        var repo = try storage.repository(did: did)!
        #expect(try repo.tree().count() == 300)
        let indexed = try storage.pool.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM record WHERE did = ?", arguments: [did])! }
        #expect(indexed == 300)

        // Delete a third: the blockstore holds exactly the commit, the nodes and the live records.
        let generator = TIDGenerator()
        var rev = try TID(repo.commit.rev)
        for chunk in stride(from: 0, to: 100, by: 20) {
            rev = try generator.next(after: rev)
            let writes = try rkeys[chunk..<chunk + 20].map { RepoWrite.delete(collection: try NSID("app.bsky.feed.post"), rkey: try RecordKey($0)) }
            try storage.apply(try repo.apply(Array(writes), key: key, rev: rev))
            repo = try storage.repository(did: did)!
        }
        var live = 1
        try repo.tree().forEachNode { _, _ in live += 1 }
        #expect(try blockCount(storage) == live + 200)
        #expect(try repo.tree().count() == 200)
    }

    /// Two records with the same content share one block: deleting one
    /// keeps it for the other, deleting both removes it.
    @Test func aBlockTwoRecordsShareStaysUntilBothAreGone() throws {
        let (storage, dir) = try RepoTestSupport.storage()
        defer { try? FileManager.default.removeItem(at: dir) }
        _ = try RepoTestSupport.populated(storage, key: key, count: 40, batch: 40)
        let generator = TIDGenerator()
        var repo = try storage.repository(did: did)!
        var rev = try TID(repo.commit.rev)
        func commit(_ writes: [RepoWrite]) throws {
            rev = try generator.next(after: rev)
            try storage.apply(try repo.apply(writes, key: key, rev: rev))
            repo = try storage.repository(did: did)!
        }
        let twin = RepoTestSupport.post(1_000)
        let cid = CID.compute(DAGCBOR.encode(twin))
        func stored() throws -> Bool {
            try storage.pool.read {
                try Bool.fetchOne($0, sql: "SELECT COUNT(*) > 0 FROM blockstore WHERE did = ? AND cid = ?", arguments: [did, Data(cid.bytes)])!
            }
        }
        try commit([
            .create(collection: try NSID("app.bsky.feed.post"), rkey: try RecordKey("3aaaaaaaaaaa2"), record: twin),
            .create(collection: try NSID("app.bsky.feed.post"), rkey: try RecordKey("3aaaaaaaaaaa3"), record: twin),
        ])
        #expect(try stored())

        try commit([.delete(collection: try NSID("app.bsky.feed.post"), rkey: try RecordKey("3aaaaaaaaaaa2"))])
        #expect(try stored(), "the other record still uses it")
        #expect(try repo.record(collection: try NSID("app.bsky.feed.post"), rkey: try RecordKey("3aaaaaaaaaaa3"))?.cid == cid)

        try commit([.delete(collection: try NSID("app.bsky.feed.post"), rkey: try RecordKey("3aaaaaaaaaaa3"))])
        #expect(try !stored())
        var live = 1
        try repo.tree().forEachNode { _, _ in live += 1 }
        #expect(try blockCount(storage) == live + 40, "the commit, the nodes and the 40 posts")
    }

    @Test func newDatabasesHaveSmallPagesAndOldOnesKeepTheirs() throws {
        let (storage, dir) = try RepoTestSupport.storage()
        defer { try? FileManager.default.removeItem(at: dir) }
        let pageSize = { (pool: DatabasePool) in try pool.read { try Int.fetchOne($0, sql: "PRAGMA page_size")! } }
        #expect(try pageSize(storage.pool) == ServiceDatabase.pageSize)
        _ = try RepoTestSupport.populated(storage, key: key, count: 50, batch: 10)

        // A database created before (SQLite's default pages, WAL, one table)
        // opens with its own page size, takes the migrations and stores commits.
        let oldPath = dir.appendingPathComponent("old.sqlite").path
        let old = try DatabaseQueue(path: oldPath)
        try old.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA page_size = 4096")
            try db.execute(sql: "PRAGMA journal_mode = WAL")
            try db.execute(sql: "CREATE TABLE kept (x INTEGER)")
            try db.execute(sql: "INSERT INTO kept VALUES (7)")
        }
        try old.close()
        let reopened = RepoStorage(pool: try ServiceDatabase.open(path: oldPath))
        #expect(try pageSize(reopened.pool) == 4096)
        #expect(try reopened.pool.read { try Int.fetchOne($0, sql: "SELECT x FROM kept") } == 7)
        _ = try RepoTestSupport.populated(reopened, key: key, count: 50, batch: 10)
        #expect(try reopened.repository(did: did)!.tree().count() == 50)
    }

    @Test func aStaleCommitIsRefused() throws {
        let (storage, dir) = try RepoTestSupport.storage()
        defer { try? FileManager.default.removeItem(at: dir) }
        _ = try RepoTestSupport.populated(storage, key: key, count: 10)
        let repo = try storage.repository(did: did)!
        let generator = TIDGenerator()
        let a = try repo.apply([.create(collection: try NSID("app.bsky.feed.post"), rkey: try RecordKey("a"), record: RepoTestSupport.post(1))],
                               key: key, rev: generator.next())
        let b = try repo.apply([.create(collection: try NSID("app.bsky.feed.post"), rkey: try RecordKey("b"), record: RepoTestSupport.post(2))],
                               key: key, rev: generator.next())
        try storage.apply(a)
        let before = try blockCount(storage)
        #expect(throws: RepoError.concurrentWrite(did)) { try storage.apply(b) }
        #expect(try blockCount(storage) == before)
        #expect(try storage.currentCommit(did: did)?.cid == a.commitCID)
    }

    /// Commits built through a node cache shared across them (as the PDS's
    /// writer builds them) are the commits built without one: same tree,
    /// new and removed blocks, firehose blocks; the stored repository
    /// verifies. Deletes included, so nodes leave and come back.
    @Test func commitsThroughANodeCacheAreTheSameAsWithout() throws {
        let (plain, plainDir) = try RepoTestSupport.storage()
        let (cached, cachedDir) = try RepoTestSupport.storage()
        defer {
            try? FileManager.default.removeItem(at: plainDir)
            try? FileManager.default.removeItem(at: cachedDir)
        }
        let first = try Repository.create(did: did, key: key, rev: TIDGenerator().next())
        try plain.apply(first)
        try cached.apply(first)
        let cache = MSTNodeCache(maxBytes: 4 << 20)
        let generator = TIDGenerator()
        var rkeys: [String] = []
        for n in 0..<120 {
            let rev = generator.next()
            let writes: [RepoWrite]
            if n % 3 == 2 {
                writes = [.delete(collection: try NSID("app.bsky.feed.post"), rkey: try RecordKey(rkeys.removeFirst()))]
            } else {
                rkeys.append(generator.next().string)
                writes = [.create(collection: try NSID("app.bsky.feed.post"), rkey: try RecordKey(rkeys.last!), record: RepoTestSupport.post(n))]
            }
            let expected = try plain.pool.write { db in
                let result = try RepoStorage.repository(did: did, db: db)!.apply(writes, key: key, rev: rev)
                try RepoStorage.apply(result, db: db)
                return result
            }
            let got = try cached.pool.write { db in
                let result = try RepoStorage.repository(did: did, db: db, nodeCache: cache)!.apply(writes, key: key, rev: rev)
                try RepoStorage.apply(result, db: db)
                return result
            }
            // Commit blocks differ only by their signatures (ECDSA nonces).
            let commits: Set<CID> = [expected.commitCID, got.commitCID, expected.prevCommit!, got.prevCommit!]
            #expect(got.commit.data == expected.commit.data)
            #expect(got.ops.map(\.path) == expected.ops.map(\.path))
            #expect(Set(got.newBlocks.keys).subtracting(commits) == Set(expected.newBlocks.keys).subtracting(commits))
            #expect(got.removedBlocks.subtracting(commits) == expected.removedBlocks.subtracting(commits))
            #expect(Set(got.firehoseBlocks.keys).subtracting(commits) == Set(expected.firehoseBlocks.keys).subtracting(commits))
        }
        #expect(cache.count > 0)
        #expect(try blockCount(cached) == (try blockCount(plain)))
        var car: [UInt8] = []
        try cached.exportCAR(did: did) { car += $0 }
        let verified = try RepoVerifier.verifyCAR(InMemoryByteSource(car), expectedDID: did, key: key.publicKey)
        #expect(verified.recordCount == 40 && verified.signatureVerified)
    }

    @Test func exportVerifiesAndImportsBack() throws {
        let (storage, dir) = try RepoTestSupport.storage()
        defer { try? FileManager.default.removeItem(at: dir) }
        _ = try RepoTestSupport.populated(storage, key: key, count: 500, batch: 100)
        var car: [UInt8] = []
        try storage.exportCAR(did: did) { car += $0 }
        let verified = try RepoVerifier.verifyCAR(InMemoryByteSource(car), expectedDID: did, key: key.publicKey)
        #expect(verified.recordCount == 500 && verified.signatureVerified)
        #expect(verified.collections == ["app.bsky.feed.post": 500])
        #expect(throws: RepoError.badSignature) {
            try RepoVerifier.verifyCAR(InMemoryByteSource(car), key: PrivateKey.generate(.secp256k1).publicKey)
        }
        #expect(throws: RepoError.self) {
            try RepoVerifier.verifyCAR(InMemoryByteSource(car), expectedDID: try DID("did:plc:someoneelse22222222222"))
        }

        let (other, otherDir) = try RepoTestSupport.storage()
        defer { try? FileManager.default.removeItem(at: otherDir) }
        let imported = try other.importCAR(InMemoryByteSource(car))
        #expect(imported.commitCID == verified.commitCID)
        #expect(try other.repository(did: did)?.tree().count() == 500)

        // `since` exports only what later revs wrote.
        let head = try storage.currentCommit(did: did)!
        var partial: [UInt8] = []
        try storage.exportCAR(did: did, since: head.rev) { partial += $0 }
        var reader = try CARReader(source: InMemoryByteSource(partial))
        #expect(try reader.readAll().count == 1)  // only the commit
    }

    /// Exports wait on their client in `sink`; they must not hold the pool's
    /// readers meanwhile, or every other read would wait for a reader as
    /// long as the slowest client.
    @Test func stalledExportsLeaveThePoolsReadersFree() async throws {
        let (storage, dir) = try RepoTestSupport.storage()
        defer { try? FileManager.default.removeItem(at: dir) }
        _ = try RepoTestSupport.populated(storage, key: key, count: 20)
        let stalled = 2 * storage.pool.configuration.maximumReaderCount
        let started = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        let finished = DispatchGroup()
        for _ in 0..<stalled {
            // Threads of their own: libdispatch adds workers slowly when
            // those it has are blocked.
            finished.enter()
            Thread {
                defer { finished.leave() }
                var first = true
                try? storage.exportCAR(did: did) { _ in
                    if first {
                        first = false
                        started.signal()
                        release.wait()  // a client that does not read
                    }
                }
            }.start()
        }
        for _ in 0..<stalled { #expect(started.wait(timeout: .now() + 10) == .success) }

        // Every export is stalled inside its read: a short read still gets a reader at once.
        let answered = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            if (try? storage.pool.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM record") }) == 20 { answered.signal() }
        }
        #expect(answered.wait(timeout: .now() + 5) == .success)

        for _ in 0..<stalled { release.signal() }
        #expect(finished.wait(timeout: .now() + 10) == .success)
    }

    @Test func aRepoMissingARecordFailsVerification() throws {
        let (storage, dir) = try RepoTestSupport.storage()
        defer { try? FileManager.default.removeItem(at: dir) }
        _ = try RepoTestSupport.populated(storage, key: key, count: 20)
        var blocks: [CID: [UInt8]] = [:]
        var car: [UInt8] = []
        try storage.exportCAR(did: did) { car += $0 }
        var reader = try CARReader(source: InMemoryByteSource(car))
        let root = reader.roots[0]
        blocks = try reader.readAll()
        let repo = try Repository(commitCID: root, store: MemoryBlockStore(blocks))
        let victim = try repo.tree().list(limit: 1)[0].value
        blocks[victim] = nil
        #expect(throws: RepoError.missingBlock(victim)) { try RepoVerifier.verify(root: root, blocks: blocks) }
        #expect(throws: RepoError.self) { try storage.importCAR(InMemoryByteSource(CARWriter.bytes(roots: [root], blocks: blocks.map { ($0.key, $0.value) }))) }
    }
}
