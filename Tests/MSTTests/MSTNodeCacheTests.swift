import ATProto
import Synchronization
import Testing

@testable import MST

/// A store whose memo sits in front of a shared cache, as the database
/// block store's does for the writer's commits, and that counts the blocks
/// it had to read from its base.
final class CachedCountingStore: BlockStore {
    let base: MemoryBlockStore
    let nodeMemo: MSTNodeMemo?
    private let reads = Mutex<[CID]>([])

    init(_ base: MemoryBlockStore, cache: MSTNodeCache) {
        self.base = base
        nodeMemo = MSTNodeMemo(shared: cache)
    }

    func getBlock(_ cid: CID) throws -> [UInt8]? {
        if let bytes = nodeMemo?.shared?.bytes(cid) { return bytes }
        reads.withLock { $0.append(cid) }
        return try base.getBlock(cid)
    }

    var blocksRead: [CID] { reads.withLock { $0 } }
}

@Suite("MST node cache")
struct MSTNodeCacheTests {
    /// One commit's work on a tree: a write, its blocks, the diff against
    /// the previous root and the firehose proof.
    struct Commit {
        let root: CID
        let blocks: [CID: [UInt8]]
        let removed: Set<CID>
        let proof: [CID: [UInt8]]
    }

    static func commit(_ key: String, value: CID, root: CID, store: any BlockStore) throws -> Commit {
        var tree = try MerkleSearchTree(store: store, root: root)
        let previous = try tree.put(key, value)
        let (newRoot, blocks) = tree.serialize()
        let view = OverlayBlockStore(blocks, over: store)
        let diff = try MSTDiff.between(old: root, new: newRoot, store: view)
        let proof = try MerkleSearchTree.inversionProof(
            operations: [MSTOperation(key: key, cid: value, previous: previous)], root: newRoot, store: view)
        return Commit(root: newRoot, blocks: blocks, removed: Set(diff.removedNodes), proof: proof)
    }

    /// Consecutive commits through a cache shared across them give exactly
    /// what a plain store gives, and a commit finds the nodes the previous
    /// one wrote in the cache instead of reading them again.
    @Test func commitsThroughASharedCacheMatchAPlainStoreAndReuseThePreviousPath() throws {
        let plain = MemoryBlockStore()
        var built = try MerkleSearchTree.build(
            store: plain, entries: MSTPropertyTests.keys(3000, seed: 41).map { ($0, MSTTestSupport.leaf) })
        let first = built.serialize()
        plain.putBlocks(first.blocks)
        var root = first.root
        let cache = MSTNodeCache(maxBytes: 8 << 20)
        var previousBlocks: [CID: [UInt8]] = [:]
        for (i, key) in MSTPropertyTests.keys(40, seed: 42).enumerated() {
            let value = MSTTestSupport.value(i)
            let expected = try Self.commit(key, value: value, root: root, store: plain)
            // A new store (and memo) per commit, as the writer opens one per commit.
            let cached = CachedCountingStore(plain, cache: cache)
            let got = try Self.commit(key, value: value, root: root, store: cached)
            #expect(got.root == expected.root)
            #expect(Set(got.blocks.keys) == Set(expected.blocks.keys))
            #expect(got.removed == expected.removed)
            let sameBytes = got.blocks == expected.blocks && got.proof == expected.proof
            #expect(sameBytes, "blocks or proof differ in commit \(i)")
            if i > 0 {
                let reread = cached.blocksRead.filter { previousBlocks[$0] != nil }
                #expect(reread.isEmpty, "commit \(i) read \(reread.count) nodes the previous commit wrote")
            }
            plain.putBlocks(expected.blocks)
            previousBlocks = expected.blocks
            root = expected.root
        }
        #expect(try MerkleSearchTree(store: plain, root: root).count() == 3040)
    }

    /// A node served from the cache is checked against the layer the tree
    /// expects, as a decoded one is.
    @Test func aCachedNodeAtTheWrongLayerIsRefused() throws {
        let plain = MemoryBlockStore()
        var tree = try MerkleSearchTree.build(
            store: plain, entries: MSTPropertyTests.keys(500, seed: 43).map { ($0, MSTTestSupport.leaf) })
        let (root, blocks) = tree.serialize()
        plain.putBlocks(blocks)
        let cache = MSTNodeCache(maxBytes: 8 << 20)
        let store = CachedCountingStore(plain, cache: cache)
        let loaded = try MerkleSearchTree(store: store, root: root)
        #expect(try loaded.count() == 500)
        let rootLayer = try #require(loaded.rootLayer)
        #expect(rootLayer > 0)
        #expect(throws: MSTError.self) {
            _ = try MSTNodeMemo.node(root, store: CachedCountingStore(plain, cache: cache), expectedLayer: rootLayer - 1)
        }
    }

    /// The cache holds about its budget: the newer generation fills, then
    /// the older is dropped; an entry used from the older one moves to the
    /// newer and survives the next drop.
    @Test func aFullCacheDropsItsOlderGenerationButKeepsWhatIsUsed() throws {
        let bytes = [UInt8](repeating: 7, count: 100)
        let perEntry = MSTNodeCache.Entry(node: MSTNode(layer: 0), bytes: bytes).cost
        let cache = MSTNodeCache(maxBytes: perEntry * 20)  // 10 entries per generation
        func cid(_ i: Int) -> CID { CID.compute(Array("node \(i)".utf8)) }
        for i in 0..<10 { cache.insert(cid(i), node: MSTNode(layer: 0), bytes: bytes) }
        #expect(cache.count == 10)
        // The eleventh starts a new generation; the first ten are the older one.
        for i in 10..<15 { cache.insert(cid(i), node: MSTNode(layer: 0), bytes: bytes) }
        #expect(cache.count == 15)
        #expect(cache.bytes(cid(3)) == bytes)  // promoted to the newer generation
        for i in 15..<20 { cache.insert(cid(i), node: MSTNode(layer: 0), bytes: bytes) }
        // The newer generation overflowed at 19: the older one (0..<10 but 3) is gone.
        #expect(cache.bytes(cid(0)) == nil)
        #expect(cache.bytes(cid(9)) == nil)
        #expect(cache.bytes(cid(3)) == bytes)
        #expect(cache.bytes(cid(12)) == bytes)
        #expect(cache.count <= 20)
        // An entry over a generation's budget is not kept at all.
        let huge = [UInt8](repeating: 1, count: perEntry * 20)
        cache.insert(cid(99), node: MSTNode(layer: 0), bytes: huge)
        #expect(cache.bytes(cid(99)) == nil)
    }
}
