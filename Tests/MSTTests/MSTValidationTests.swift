import ATProto
import Testing

@testable import MST

/// Trees that decode but are not the canonical tree of their keys must be
/// refused: otherwise two repos with the same records could differ in root.
@Suite("MST validation")
struct MSTValidationTests {
    let leaf = MSTTestSupport.leaf

    func store(_ nodes: [[UInt8]]) -> (MemoryBlockStore, [CID]) {
        let s = MemoryBlockStore()
        let cids = nodes.map { bytes -> CID in
            let cid = CID.compute(bytes)
            try? s.putBlock(cid, bytes: bytes)
            return cid
        }
        return (s, cids)
    }

    /// Keys of height 0 from the example list.
    let a = Array("A0/374913".utf8), b = Array("B0/601692".utf8), c = Array("C0/451630".utf8)
    /// A key of height 1.
    let b1 = Array("B1/986427".utf8)

    @Test func aCanonicalTreePasses() throws {
        var tree = try MerkleSearchTree.build(
            store: MemoryBlockStore(), entries: MSTPropertyTests.keys(300, seed: 1).map { ($0, leaf) })
        let (root, blocks) = tree.serialize()
        var seen = 0
        try MerkleSearchTree(store: MemoryBlockStore(blocks), root: root).validate { _, _ in seen += 1 }
        #expect(seen == 300)
    }

    @Test func nonMaximalPrefixCompressionIsRefused() throws {
        // Hand-encode two keys sharing "A0/" and "A0/3..." with p = 0 for the second.
        let k1 = Array("C0/451630".utf8), k2 = Array("C0/451631".utf8)
        let entries: [DataValue] = [
            ["k": .bytes(k1), "p": 0, "t": .null, "v": .link(leaf)],
            ["k": .bytes(k2), "p": 0, "t": .null, "v": .link(leaf)],
        ]
        let bytes = DAGCBOR.encode(["e": .array(entries), "l": .null])
        let (s, cids) = store([bytes])
        #expect(MSTKey.height(k2) == 0)
        #expect(throws: MSTError.self) { try MerkleSearchTree(store: s, root: cids[0]) }
    }

    @Test func aKeyOutsideItsSubtreeIsRefused() throws {
        // Root at layer 1 holding B1; its left subtree wrongly holds C0 (> B1).
        let child = MSTNodeCodec.encode(left: nil, entries: [(c, leaf, nil)])
        let (s1, childCID) = store([child])
        let root = MSTNodeCodec.encode(left: childCID[0], entries: [(b1, leaf, nil)])
        try s1.putBlock(CID.compute(root), bytes: root)
        let tree = try MerkleSearchTree(store: s1, root: CID.compute(root))
        #expect(throws: MSTError.self) { try tree.validate { _, _ in } }
        // The same keys in their right places pass.
        let good = MSTNodeCodec.encode(left: nil, entries: [(b1, leaf, childCID[0])])
        try s1.putBlock(CID.compute(good), bytes: good)
        try MerkleSearchTree(store: s1, root: CID.compute(good)).validate { _, _ in }
    }

    @Test func aRootWithoutKeysOfItsOwnIsRefused() throws {
        let child = MSTNodeCodec.encode(left: nil, entries: [(a, leaf, nil), (b, leaf, nil)])
        let (s, cids) = store([child])
        let wrapper = MSTNodeCodec.encode(left: cids[0], entries: [])
        try s.putBlock(CID.compute(wrapper), bytes: wrapper)
        let tree = try MerkleSearchTree(store: s, root: CID.compute(wrapper))
        #expect(throws: MSTError.self) { try tree.validate { _, _ in } }
    }

    @Test func keysAtTheWrongLayerAndEmptyInnerNodesAreRefused() throws {
        // D2 has height 2, so the node left of it is layer 1 and must hold
        // height-1 keys; A0 (height 0) there is at the wrong layer.
        let s = MemoryBlockStore()
        let wrongChild = MSTNodeCodec.encode(left: nil, entries: [(a, leaf, nil)])
        try s.putBlock(CID.compute(wrongChild), bytes: wrongChild)
        let wrongRoot = MSTNodeCodec.encode(left: CID.compute(wrongChild), entries: [(Array("D2/269196".utf8), leaf, nil)])
        try s.putBlock(CID.compute(wrongRoot), bytes: wrongRoot)
        let tree = try MerkleSearchTree(store: s, root: CID.compute(wrongRoot))
        #expect(throws: MSTError.self) { try tree.validate { _, _ in } }
        // An empty node hanging inside the tree.
        let empty = MSTNodeCodec.encode(left: nil, entries: [])
        try s.putBlock(CID.compute(empty), bytes: empty)
        let holder = MSTNodeCodec.encode(left: CID.compute(empty), entries: [(b1, leaf, nil)])
        try s.putBlock(CID.compute(holder), bytes: holder)
        let withEmpty = try MerkleSearchTree(store: s, root: CID.compute(holder))
        #expect(throws: MSTError.self) { try withEmpty.validate { _, _ in } }
    }
}
