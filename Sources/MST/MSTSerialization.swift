import ATProto

/// Turning the in-memory tree into blocks: node CIDs are computed bottom-up
/// for changed nodes only; unchanged nodes keep their cached CID.
extension MerkleSearchTree {
    /// The DAG-CBOR bytes of the empty tree's root node, `{e: [], l: null}`.
    public static let emptyNodeBytes: [UInt8] = MSTNodeCodec.encode(left: nil, entries: [])
    /// The CID of the empty tree.
    public static let emptyRootCID: CID = CID.compute(emptyNodeBytes)

    /// Computes the root CID, caching every node's CID.
    /// - Returns: the root and the blocks of every node created or changed
    ///   since the tree was loaded or last serialized (for the empty tree,
    ///   its empty root node). Those nodes are also kept in the store's
    ///   node memo, if it has one, for the diff and proof that follow a
    ///   write (and, through a shared cache, for the next commit).
    public mutating func serialize() -> (root: CID, blocks: [CID: [UInt8]]) {
        serialize(keepingNodesIn: store.nodeMemo)
    }

    /// The root CID. Mutating because it caches node CIDs, after which a
    /// ``serialize()`` no longer returns those nodes' blocks: call
    /// ``serialize()`` instead when the blocks are needed. Keeps no node in
    /// the store's memo (for checks, such as an inversion, whose nodes
    /// nothing reads next).
    public var rootCID: CID {
        mutating get { serialize(keepingNodesIn: nil).root }
    }

    private mutating func serialize(keepingNodesIn memo: MSTNodeMemo?) -> (root: CID, blocks: [CID: [UInt8]]) {
        var blocks: [CID: [UInt8]] = [:]
        guard var node = root else {
            blocks[MerkleSearchTree.emptyRootCID] = MerkleSearchTree.emptyNodeBytes
            return (MerkleSearchTree.emptyRootCID, blocks)
        }
        let cid = MerkleSearchTree.serialize(&node, into: &blocks, memo: memo)
        root = node
        return (cid, blocks)
    }

    /// Serializes `node` and its changed descendants into `blocks`, and
    /// keeps each new node in `memo` (so the diff and proof of the same
    /// commit, and later commits through a shared cache, need not decode it).
    static func serialize(_ node: inout MSTNode, into blocks: inout [CID: [UInt8]], memo: MSTNodeMemo?) -> CID {
        if let cid = node.cid { return cid }
        func childCID(_ child: inout MSTChild?) -> CID? {
            switch child {
            case nil: return nil
            case .stored(let cid)?: return cid
            case .node(var n)?:
                let cid = serialize(&n, into: &blocks, memo: memo)
                child = .node(n)
                return cid
            }
        }
        var left = node.left
        let leftCID = childCID(&left)
        var entries = node.entries
        var encoded: [(key: [UInt8], value: CID, right: CID?)] = []
        encoded.reserveCapacity(entries.count)
        for i in entries.indices {
            var right = entries[i].right
            let rightCID = childCID(&right)
            entries[i].right = right
            encoded.append((entries[i].key, entries[i].value, rightCID))
        }
        let bytes = MSTNodeCodec.encode(left: leftCID, entries: encoded)
        let cid = CID.compute(bytes)
        blocks[cid] = bytes
        memo?.wrote(cid, layer: node.layer, left: leftCID, entries: encoded, bytes: bytes)
        node.left = left
        node.entries = entries
        node.cid = cid
        return cid
    }

    /// The bytes of a node whose CID is known (serialized or loaded).
    func nodeBytes(_ node: MSTNode) throws -> [UInt8] {
        if let cid = node.cid, let stored = try store.getBlock(cid) { return stored }
        func cidOf(_ child: MSTChild?) -> CID? {
            switch child {
            case nil: return nil
            case .stored(let cid)?: return cid
            case .node(let n)?: return n.cid
            }
        }
        return MSTNodeCodec.encode(
            left: cidOf(node.left), entries: node.entries.map { ($0.key, $0.value, cidOf($0.right)) })
    }
}
