import ATProto
import Testing

@testable import MST

/// A small deterministic generator so failures reproduce.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed &+ 0x9E37_79B9_7F4A_7C15 }
    mutating func next() -> UInt64 {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

@Suite("MST properties")
struct MSTPropertyTests {
    static func keys(_ n: Int, seed: UInt64) -> [String] {
        var rng = SeededGenerator(seed: seed)
        let collections = ["app.bsky.feed.post", "app.bsky.feed.like", "app.bsky.graph.follow", "net.atrarium.community.config"]
        var set = Set<String>()
        while set.count < n {
            let tid = TIDLike.random(using: &rng)
            set.insert("\(collections[Int(rng.next() % 4)])/\(tid)")
        }
        return Array(set)
    }

    @Test(arguments: [(0, 1), (1, 2), (10, 3), (100, 4), (1000, 5), (10_000, 6)])
    func insertionOrderDoesNotMatter(n: Int, seed: UInt64) throws {
        let keys = Self.keys(n, seed: seed)
        var rng = SeededGenerator(seed: seed * 31)
        let entries = keys.enumerated().map { ($0.element, MSTTestSupport.value($0.offset)) }
        var bulk = try MerkleSearchTree.build(store: MemoryBlockStore(), entries: entries)
        let expected = bulk.rootCID
        for _ in 0..<2 {
            var tree = MerkleSearchTree(store: MemoryBlockStore())
            for (k, v) in entries.shuffled(using: &rng) { try tree.put(k, v) }
            #expect(tree.rootCID == expected)
            #expect(try tree.count() == n)
        }
    }

    @Test func insertThenDeleteReturnsToEarlierRoot() throws {
        var rng = SeededGenerator(seed: 42)
        let base = Self.keys(2000, seed: 7)
        let store = MemoryBlockStore()
        var tree = try MerkleSearchTree.build(store: store, entries: base.map { ($0, MSTTestSupport.leaf) })
        let (before, blocks) = tree.serialize()
        store.putBlocks(blocks)
        // Add fresh keys one at a time, checking each against a rebuilt tree.
        let extra = Self.keys(300, seed: 8).filter { !base.contains($0) }
        for (i, k) in extra.enumerated() { try tree.put(k, MSTTestSupport.value(i)) }
        #expect(tree.rootCID != before)
        for k in extra.shuffled(using: &rng) { #expect(try tree.delete(k) != nil) }
        #expect(tree.rootCID == before)
        // The same from a tree reloaded from its blocks (lazy loading path).
        var reloaded = try MerkleSearchTree(store: store, root: before)
        for k in extra { try reloaded.put(k, MSTTestSupport.leaf) }
        for k in extra.reversed() { try reloaded.delete(k) }
        #expect(reloaded.rootCID == before)
        // Deleting everything gives the empty tree.
        for k in base.shuffled(using: &rng) { try tree.delete(k) }
        #expect(tree.rootCID == MerkleSearchTree.emptyRootCID)
        #expect(MerkleSearchTree.emptyRootCID.string == "bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm")
    }

    @Test func diffAppliedToOldGivesNew() throws {
        var rng = SeededGenerator(seed: 99)
        let store = MemoryBlockStore()
        let keysA = Self.keys(3000, seed: 11)
        var a = try MerkleSearchTree.build(store: store, entries: keysA.map { ($0, MSTTestSupport.leaf) })
        let ra = a.serialize()
        store.putBlocks(ra.blocks)
        var b = a
        var expectedCreates = Set<String>(), expectedDeletes = Set<String>(), expectedUpdates = Set<String>()
        for k in keysA.shuffled(using: &rng).prefix(150) {
            if rng.next() % 2 == 0 {
                try b.delete(k)
                expectedDeletes.insert(k)
            } else {
                try b.put(k, MSTTestSupport.value(Int(rng.next() % 1000)))
                expectedUpdates.insert(k)
            }
        }
        for k in Self.keys(200, seed: 12) where !keysA.contains(k) {
            try b.put(k, MSTTestSupport.value(Int(rng.next() % 1000)))
            expectedCreates.insert(k)
        }
        let rb = b.serialize()
        store.putBlocks(rb.blocks)

        let diff = try MSTDiff.between(old: ra.root, new: rb.root, store: store)
        #expect(Set(diff.creates.map(\.key)) == expectedCreates)
        #expect(Set(diff.deletes.map(\.key)) == expectedDeletes)
        #expect(Set(diff.updates.map(\.key)) == expectedUpdates)
        // Every block the new tree has and the old lacks is reported new.
        #expect(Set(diff.newNodes.keys) == Set(rb.blocks.keys).subtracting(ra.blocks.keys))

        // Applying the diff to the old tree gives the new root.
        var c = try MerkleSearchTree(store: store, root: ra.root)
        for (k, v) in diff.creates { try c.add(k, v) }
        for (k, _, v) in diff.updates { try c.update(k, v) }
        for (k, _) in diff.deletes { try c.delete(k) }
        #expect(c.rootCID == rb.root)

        // The diff from nothing lists every key; a diff with itself is empty.
        let full = try MSTDiff.between(old: nil, new: rb.root, store: store)
        #expect(full.creates.count == (try b.count()))
        #expect(try MSTDiff.between(old: rb.root, new: rb.root, store: store).operationCount == 0)

        // The covering proof of the change inverts it from its blocks alone.
        let ops = diff.creates.map { MSTOperation(key: $0.key, cid: $0.cid, previous: nil) }
            + diff.updates.map { MSTOperation(key: $0.key, cid: $0.cid, previous: $0.previous) }
            + diff.deletes.map { MSTOperation(key: $0.key, cid: nil, previous: $0.previous) }
        let proof = try MerkleSearchTree.inversionProof(operations: ops, root: rb.root, store: store)
        #expect(try MerkleSearchTree.invert(operations: ops, root: rb.root, store: MemoryBlockStore(proof)) == ra.root)
    }

    /// A store offering a node memo answers every tree operation exactly as
    /// one without, decodes each node once, and still records every node a
    /// proof visits (memo hits included).
    @Test func aNodeMemoChangesNothingButTheDecoding() throws {
        let rng = SeededGenerator(seed: 7)
        let plain = MemoryBlockStore()
        var a = try MerkleSearchTree.build(store: plain, entries: Self.keys(2000, seed: 21).map { ($0, MSTTestSupport.leaf) })
        let ra = a.serialize()
        plain.putBlocks(ra.blocks)
        let memoized = MemoizingStore(plain)

        func change(_ store: any BlockStore) throws -> (root: CID, blocks: [CID: [UInt8]], ops: [MSTOperation]) {
            var local = rng
            var tree = try MerkleSearchTree(store: store, root: ra.root)
            var ops: [MSTOperation] = []
            for key in Self.keys(40, seed: 22).sorted() {
                let value = MSTTestSupport.value(Int(local.next() % 1000))
                ops.append(MSTOperation(key: key, cid: value, previous: try tree.put(key, value)))
            }
            for key in try tree.list(limit: 30).map(\.key) where local.next() % 2 == 0 {
                if let previous = try tree.delete(key) { ops.append(MSTOperation(key: key, cid: nil, previous: previous)) }
            }
            let (root, blocks) = tree.serialize()
            return (root, blocks, ops)
        }
        let expected = try change(plain)
        let got = try change(memoized)
        #expect(got.root == expected.root)
        #expect(Set(got.blocks.keys) == Set(expected.blocks.keys))
        #expect(memoized.nodeMemo!.count > 0)

        let withNew = MemoryBlockStore(plain.allBlocks.merging(expected.blocks) { a, _ in a })
        let memoizedNew = MemoizingStore(withNew)
        // Read the tree once so the proof below is served from the memo.
        _ = try MerkleSearchTree(store: memoizedNew, root: expected.root).count()
        let decoded = memoizedNew.nodeMemo!.count
        let proof = try MerkleSearchTree.inversionProof(operations: expected.ops, root: expected.root, store: memoizedNew)
        #expect(memoizedNew.nodeMemo!.count == decoded, "the nodes the proof reads were all decoded before")
        #expect(proof == (try MerkleSearchTree.inversionProof(operations: expected.ops, root: expected.root, store: withNew)))
        #expect(try MerkleSearchTree.invert(operations: expected.ops, root: expected.root, store: MemoryBlockStore(proof)) == ra.root)

        let diff = try MSTDiff.between(old: ra.root, new: expected.root, store: memoizedNew)
        let plainDiff = try MSTDiff.between(old: ra.root, new: expected.root, store: withNew)
        #expect(diff.removedNodes == plainDiff.removedNodes)
        #expect(Set(diff.newNodes.keys) == Set(plainDiff.newNodes.keys))
    }

    @Test func listsRangesCollectionsAndPages() throws {
        let store = MemoryBlockStore()
        let keys = Self.keys(1500, seed: 5)
        let tree = try MerkleSearchTree.build(store: store, entries: keys.map { ($0, MSTTestSupport.leaf) })
        let sorted = keys.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
        #expect(try tree.list().map(\.key) == sorted)
        #expect(try tree.list(reverse: true).map(\.key) == sorted.reversed())

        let collection = "app.bsky.feed.like"
        let inCollection = sorted.filter { $0.hasPrefix(collection + "/") }
        var paged: [String] = []
        var cursor: String? = nil
        while true {
            let page = try tree.list(collection: collection, cursor: cursor, limit: 37)
            paged += page.map(\.key)
            guard page.count == 37 else { break }
            cursor = String(page.last!.key.dropFirst(collection.count + 1))
        }
        #expect(paged == inCollection)
        let reversed = try tree.list(collection: collection, limit: 10, reverse: true).map(\.key)
        #expect(reversed == Array(inCollection.reversed().prefix(10)))
        #expect(try tree.list(collection: "app.bsky.feed.lik", limit: 10).isEmpty)
        #expect(try tree.get(inCollection[3]) == MSTTestSupport.leaf)
        #expect(try tree.get(collection + "/nothere") == nil)
    }

    @Test func missingAndCorruptBlocksAreErrors() throws {
        let store = MemoryBlockStore()
        var tree = try MerkleSearchTree.build(
            store: store, entries: Self.keys(500, seed: 3).map { ($0, MSTTestSupport.leaf) })
        let (root, blocks) = tree.serialize()
        #expect(throws: MSTError.missingBlock(root)) { try MerkleSearchTree(store: store, root: root) }
        // Remove one non-root node: walking the whole tree must fail on it.
        var partial = blocks
        let victim = blocks.keys.first { $0 != root }!
        partial[victim] = nil
        let loaded = try MerkleSearchTree(store: MemoryBlockStore(partial), root: root)
        #expect(throws: MSTError.missingBlock(victim)) { try loaded.count() }
        // A block that is not a node.
        let junk = DAGCBOR.encode(["hello": "world"])
        let junkCID = CID.compute(junk)
        #expect(throws: MSTError.self) { try MerkleSearchTree(store: MemoryBlockStore([junkCID: junk]), root: junkCID) }
    }
}

/// Random TID-shaped record keys for building realistic trees.
enum TIDLike {
    static let alphabet = Array("234567abcdefghijklmnopqrstuvwxyz")
    static func random(using rng: inout SeededGenerator) -> String {
        var s = String(alphabet[Int(rng.next() % 16)])
        for _ in 0..<12 { s.append(alphabet[Int(rng.next() % 32)]) }
        return s
    }
}

/// A store with a node memo.
struct MemoizingStore: BlockStore {
    let base: MemoryBlockStore
    let nodeMemo: MSTNodeMemo? = MSTNodeMemo()

    init(_ base: MemoryBlockStore) { self.base = base }

    func getBlock(_ cid: CID) throws -> [UInt8]? { try base.getBlock(cid) }
}
