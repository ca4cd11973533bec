import ATProto

/// Decoded MST nodes by CID, kept for one piece of work that reads the same
/// nodes several times: building a commit reads the path to the written key
/// for the write itself, for the diff against the previous tree and for the
/// firehose proof. Nodes are content-addressed, so every tree and store of
/// that work may share one memo. A memo may sit in front of an
/// ``MSTNodeCache`` that outlives it: nodes missing from the memo are
/// looked up there, and nodes it decodes or a tree writes are kept there.
///
/// Not synchronized: a memo belongs to one piece of work on one thread (a
/// store offering one, such as the database block store, lives inside one
/// database closure).
public final class MSTNodeMemo: @unchecked Sendable {
    /// Nodes as decoded, before a tree fixes up the layer of key-less ones.
    private var nodes: [CID: MSTNode] = [:]
    /// Where nodes are kept beyond this piece of work, or nil.
    public let shared: MSTNodeCache?

    public init(shared: MSTNodeCache? = nil) {
        self.shared = shared
    }

    /// How many nodes are kept.
    public var count: Int { nodes.count }

    /// The node with `cid`, from the memo or else read from `store` and
    /// decoded (and then kept). A node taken from the memo is reported to
    /// the store (``BlockStore/noteMemoRead(_:)``), so stores that record
    /// what was read still see every node a tree visits.
    static func node(_ cid: CID, store: any BlockStore, expectedLayer: Int?) throws -> MSTNode {
        let memo = store.nodeMemo
        let node: MSTNode
        if let kept = memo?.nodes[cid] {
            try store.noteMemoRead(cid)
            node = kept
        } else if let memo, let kept = memo.shared?.entry(cid)?.node {
            try store.noteMemoRead(cid)
            node = kept
            memo.nodes[cid] = node
        } else {
            guard let bytes = try store.getBlock(cid) else { throw MSTError.missingBlock(cid) }
            node = try MSTNodeCodec.decode(bytes, cid: cid, expectedLayer: nil)
            memo?.nodes[cid] = node
            memo?.shared?.insert(cid, node: node, bytes: bytes)
        }
        // What decoding with the expected layer would have checked (a node
        // without keys takes its layer from the tree that loads it).
        if let expectedLayer, !node.entries.isEmpty, node.layer != expectedLayer {
            throw MSTError.malformedNode(cid, "key at the wrong layer")
        }
        return node
    }

    /// Keeps a node a tree has just serialized, as decoding `bytes` would
    /// have produced it (children by CID; a node without keys at layer -1,
    /// which the tree loading it fixes up).
    func wrote(_ cid: CID, layer: Int, left: CID?, entries: [(key: [UInt8], value: CID, right: CID?)], bytes: [UInt8]) {
        let node = MSTNode(
            layer: entries.isEmpty ? -1 : layer, left: left.map { .stored($0) },
            entries: entries.map { MSTEntry(key: $0.key, value: $0.value, right: $0.right.map { .stored($0) }) },
            cid: cid)
        nodes[cid] = node
        shared?.insert(cid, node: node, bytes: bytes)
    }
}
