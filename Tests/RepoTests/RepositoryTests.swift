import ATCrypto
import ATProto
import CAR
import MST
import Testing

@testable import Repo

@Suite("Repository commits")
struct RepositoryTests {
    let key = PrivateKey.generate(.secp256k1)
    let did = RepoTestSupport.did

    func start() throws -> (Repository, MemoryBlockStore, TIDGenerator) {
        let store = MemoryBlockStore()
        let generator = TIDGenerator()
        let first = try Repository.create(did: did, key: key, rev: generator.next())
        store.putBlocks(first.newBlocks)
        #expect(first.commit.version == 3 && first.commit.prev == nil)
        #expect(first.data == MerkleSearchTree.emptyRootCID)
        return (try Repository(did: did, commitCID: first.commitCID, store: store), store, generator)
    }

    @Test func commitIsSignedV3WithNullPrev() throws {
        let (repo, _, _) = try start()
        #expect(repo.commit.verify(with: key.publicKey))
        #expect(!repo.commit.verify(with: PrivateKey.generate(.secp256k1).publicKey))
        // prev is present as an explicit null in the block.
        let block = try DAGCBOR.decode(repo.commit.bytes)
        #expect(block["prev"] == .null)
        #expect(block.mapValue?.keys.sorted() == ["data", "did", "prev", "rev", "sig", "version"])
        #expect(try SignedCommit(bytes: repo.commit.bytes) == repo.commit)
    }

    @Test func writesProduceOpsBlocksAndAVerifiableCommit() throws {
        var (repo, store, generator) = try start()
        var rev = try TID(repo.commit.rev)
        var expectedCount = 0
        var paths: [String] = []
        for round in 0..<20 {
            var writes: [RepoWrite] = []
            for i in 0..<5 {
                let rkey = generator.next().string
                writes.append(.create(collection: try NSID("app.bsky.feed.post"), rkey: try RecordKey(rkey), record: RepoTestSupport.post(round * 10 + i)))
                paths.append("app.bsky.feed.post/" + rkey)
            }
            if round > 2 {
                let victim = paths.remove(at: round % paths.count)
                let parts = victim.split(separator: "/").map(String.init)
                writes.append(.delete(collection: try NSID(parts[0]), rkey: try RecordKey(parts[1])))
                let target = paths[round % paths.count].split(separator: "/").map(String.init)
                writes.append(.update(collection: try NSID(target[0]), rkey: try RecordKey(target[1]), record: RepoTestSupport.post(-round)))
                expectedCount -= 1
            }
            expectedCount += 5
            rev = try generator.next(after: rev)
            let result = try repo.apply(writes, key: key, rev: rev)
            #expect(result.since == repo.commit.rev && result.prevData == repo.commit.data)
            #expect(result.rev > repo.commit.rev)
            #expect(result.ops.count == writes.count)
            // A consumer with only the firehose blocks can check the commit.
            try RepoVerifier.verifyCommit(
                commitCID: result.commitCID, blocks: result.firehoseBlocks, ops: result.ops,
                prevData: result.prevData, key: key.publicKey, expectedDID: did)
            store.putBlocks(result.newBlocks)
            repo = try Repository(did: did, commitCID: result.commitCID, store: store)
        }
        #expect(try repo.tree().count() == expectedCount)
        let first = paths[0].split(separator: "/").map(String.init)
        #expect(try repo.record(collection: try NSID(first[0]), rkey: try RecordKey(first[1]))?.value["$type"] == "app.bsky.feed.post")
    }

    @Test func badWritesAreRefusedWithoutChange() throws {
        let (repo, _, generator) = try start()
        let rev = generator.next()
        let post = RepoTestSupport.post(1)
        #expect(throws: RepoError.recordNotFound("app.bsky.feed.post/nothere")) {
            try repo.apply([.delete(collection: try NSID("app.bsky.feed.post"), rkey: try RecordKey("nothere"))], key: key, rev: rev)
        }
        #expect(throws: RepoError.recordNotFound("app.bsky.feed.post/nothere")) {
            try repo.apply([.update(collection: try NSID("app.bsky.feed.post"), rkey: try RecordKey("nothere"), record: post)], key: key, rev: rev)
        }
        // A record key with a space cannot be parsed; one made unchecked is
        // still refused by the repository's own check of each path.
        #expect(throws: SyntaxError.self) { try RecordKey("bad key") }
        #expect(throws: RepoError.invalidPath("app.bsky.feed.post/bad key")) {
            try repo.apply([.create(collection: try NSID("app.bsky.feed.post"), rkey: RecordKey(unchecked: "bad key"), record: post)], key: key, rev: rev)
        }
        #expect(throws: RepoError.self) {
            try repo.apply([.create(collection: try NSID("app.bsky.feed.post"), rkey: try RecordKey("a"), record: "not a map")], key: key, rev: rev)
        }
        #expect(throws: RepoError.self) {
            try repo.apply(
                [.create(collection: try NSID("app.bsky.feed.post"), rkey: try RecordKey("a"), record: post),
                 .delete(collection: try NSID("app.bsky.feed.post"), rkey: try RecordKey("a"))], key: key, rev: rev)
        }
        // A rev that does not follow the current one.
        #expect(throws: RepoError.self) {
            try repo.apply([.create(collection: try NSID("app.bsky.feed.post"), rkey: try RecordKey("a"), record: post)], key: key,
                           rev: TID(timestampMicros: 1, clockID: 0))
        }
        // Creating over an existing record.
        let created = try repo.apply([.create(collection: try NSID("app.bsky.feed.post"), rkey: try RecordKey("a"), record: post)], key: key, rev: rev)
        let store = MemoryBlockStore(created.newBlocks.merging(try allBlocks(repo)) { a, _ in a })
        let next = try Repository(did: did, commitCID: created.commitCID, store: store)
        #expect(throws: RepoError.recordExists("app.bsky.feed.post/a")) {
            try next.apply([.create(collection: try NSID("app.bsky.feed.post"), rkey: try RecordKey("a"), record: post)], key: key,
                           rev: try generator.next(after: rev))
        }
    }

    func allBlocks(_ repo: Repository) throws -> [CID: [UInt8]] {
        var blocks: [CID: [UInt8]] = [repo.commitCID: repo.commit.bytes]
        try repo.tree().forEachNode { blocks[$0] = $1 }
        return blocks
    }

    @Test func commitVerificationCatchesTampering() throws {
        let (repo, _, generator) = try start()
        let result = try repo.apply(
            (0..<10).map { .create(collection: try NSID("app.bsky.feed.like"), rkey: try RecordKey("k\($0)"), record: RepoTestSupport.post($0)) },
            key: key, rev: generator.next())
        func verify(blocks: [CID: [UInt8]]? = nil, ops: [RepoOperation]? = nil, prevData: CID? = nil, key k: PublicKey? = nil) throws {
            try RepoVerifier.verifyCommit(
                commitCID: result.commitCID, blocks: blocks ?? result.firehoseBlocks, ops: ops ?? result.ops,
                prevData: prevData ?? result.prevData, key: k ?? key.publicKey)
        }
        try verify()
        #expect(throws: RepoError.badSignature) { try verify(key: PrivateKey.generate(.p256).publicKey) }
        #expect(throws: RepoError.self) { try verify(prevData: CID.compute([1, 2, 3])) }
        #expect(throws: RepoError.self) { try verify(ops: Array(result.ops.dropLast())) }
        var missingRecord = result.firehoseBlocks
        missingRecord[result.ops[0].cid!] = nil
        #expect(throws: RepoError.self) { try verify(blocks: missingRecord) }
        var forged = result.ops
        forged[0] = RepoOperation(action: .create, path: forged[0].path, cid: CID.compute([9]), prev: nil)
        #expect(throws: RepoError.self) { try verify(ops: forged) }
    }

    @Test func p256AndEd25519KeysSignCommitsToo() throws {
        for type in [KeyType.p256, .ed25519] {
            let k = PrivateKey.generate(type)
            let first = try Repository.create(did: did, key: k, rev: TIDGenerator().next())
            #expect(first.commit.verify(with: k.publicKey))
            #expect(!first.commit.verify(with: key.publicKey))
        }
    }
}
