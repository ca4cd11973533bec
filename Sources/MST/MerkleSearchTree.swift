import ATProto

/// The Merkle Search Tree of an atproto repository: a map from
/// `<collection>/<rkey>` keys to record CIDs whose shape, and so whose root
/// CID, depends only on the keys and values it holds.
///
/// The tree is a value: changes are made in memory on the nodes they touch,
/// which are loaded from the ``BlockStore`` on demand; untouched subtrees stay
/// as CIDs. ``serialize()`` computes the new root and returns the new nodes.
public struct MerkleSearchTree: Sendable {
    /// Where nodes are loaded from.
    public let store: any BlockStore
    /// The root node; nil for the empty tree.
    var root: MSTNode?

    /// An empty tree.
    public init(store: any BlockStore) {
        self.store = store
        self.root = nil
    }

    /// The tree whose root node has the given CID.
    public init(store: any BlockStore, root cid: CID) throws {
        self.store = store
        var node = try MSTNodeMemo.node(cid, store: store, expectedLayer: nil)
        if node.entries.isEmpty {
            guard let left = node.left else {
                self.root = nil  // the empty tree's root node
                return
            }
            // A root with no keys of its own sits one layer above its child.
            let child = try MerkleSearchTree.loadUnknownLayer(left, store: store)
            let savedCID = node.cid
            node.layer = child.layer + 1
            node.left = .node(child)
            node.cid = savedCID
        }
        try MerkleSearchTree.check(node, cid: cid)
        self.root = node
    }

    /// The layer of the root (the highest key layer), or nil when empty.
    public var rootLayer: Int? { root?.layer }

    // MARK: - Loading

    func load(_ child: MSTChild, layer: Int) throws -> MSTNode {
        switch child {
        case .node(let n):
            return n
        case .stored(let cid):
            var node = try MSTNodeMemo.node(cid, store: store, expectedLayer: layer)
            if node.entries.isEmpty {
                guard node.left != nil else { throw MSTError.malformedNode(cid, "empty node inside the tree") }
                node.layer = layer
                node.cid = cid
            }
            try MerkleSearchTree.check(node, cid: cid)
            return node
        }
    }

    static func loadUnknownLayer(_ child: MSTChild, store: any BlockStore) throws -> MSTNode {
        switch child {
        case .node(let node):
            return node
        case .stored(let cid):
            var node = try MSTNodeMemo.node(cid, store: store, expectedLayer: nil)
            if node.entries.isEmpty {
                guard let left = node.left else { throw MSTError.malformedNode(cid, "empty node inside the tree") }
                let child = try loadUnknownLayer(left, store: store)
                node.layer = child.layer + 1
                node.left = .node(child)
                node.cid = cid
            }
            try check(node, cid: cid)
            return node
        }
    }

    static func check(_ node: MSTNode, cid: CID) throws {
        if node.layer == 0 && (node.left != nil || node.entries.contains { $0.right != nil }) {
            throw MSTError.malformedNode(cid, "a layer-0 node has subtrees")
        }
    }

    // MARK: - Reads

    /// The value stored under `key`, or nil.
    public func get(_ key: String) throws -> CID? {
        let k = Array(key.utf8)
        guard var node = root else { return nil }
        let height = MSTKey.height(k)
        while true {
            if height > node.layer { return nil }
            let (i, found) = node.search(k)
            if node.layer == height { return found ? node.entries[i].value : nil }
            guard let gap = node.gap(i) else { return nil }
            node = try load(gap, layer: node.layer - 1)
        }
    }

    // MARK: - Writes

    /// Sets `key` to `value`, adding or replacing it.
    /// - Returns: the value it replaced, if any.
    @discardableResult
    public mutating func put(_ key: String, _ value: CID) throws -> CID? {
        let k = Array(key.utf8)
        guard MSTKey.isValid(k) else { throw MSTError.invalidKey(key) }
        let height = MSTKey.height(k)
        guard var node = root else {
            root = MerkleSearchTree.singleton(k, value, layer: height, height: height)
            return nil
        }
        while node.layer < height {
            node = MSTNode(layer: node.layer + 1, left: .node(node))
        }
        let (updated, previous) = try insert(into: node, key: k, value: value, height: height)
        root = updated
        return previous
    }

    /// Adds `key`, which must not be present yet.
    public mutating func add(_ key: String, _ value: CID) throws {
        if try get(key) != nil { throw MSTError.keyExists(key) }
        try put(key, value)
    }

    /// Replaces the value of `key`, which must be present.
    public mutating func update(_ key: String, _ value: CID) throws {
        if try get(key) == nil { throw MSTError.keyNotFound(key) }
        try put(key, value)
    }

    /// Removes `key`.
    /// - Returns: the value it had, or nil when it was not there.
    @discardableResult
    public mutating func delete(_ key: String) throws -> CID? {
        let k = Array(key.utf8)
        guard let node = root else { return nil }
        let height = MSTKey.height(k)
        guard height <= node.layer else { return nil }
        let (updated, previous) = try remove(from: node, key: k, height: height)
        guard previous != nil else { return nil }
        // Trim layers left with no keys at the top.
        var top = updated
        while top.entries.isEmpty, let left = top.left {
            top = try load(left, layer: top.layer - 1)
        }
        root = top.isEmpty ? nil : top
        return previous
    }
}
