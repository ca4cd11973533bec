import ATProto

/// What changed between two trees: the key operations, and which node
/// blocks the newer tree added and the older one no longer needs.
public struct MSTDiff: Sendable {
    /// Keys only in the newer tree.
    public var creates: [(key: String, cid: CID)] = []
    /// Keys in both trees with different values.
    public var updates: [(key: String, previous: CID, cid: CID)] = []
    /// Keys only in the older tree.
    public var deletes: [(key: String, previous: CID)] = []
    /// Nodes of the newer tree that the older one lacks, with their bytes.
    public var newNodes: [CID: [UInt8]] = [:]
    /// Nodes of the older tree that the newer one lacks.
    public var removedNodes: Set<CID> = []

    public init() {}

    /// Total number of key operations.
    public var operationCount: Int { creates.count + updates.count + deletes.count }

    /// Compares two serialized trees whose nodes are all in `store`. Subtrees
    /// with equal CIDs are skipped without being read, so the cost follows
    /// the size of the change, not of the trees. `old` nil is the empty tree.
    public static func between(old: CID?, new: CID, store: any BlockStore) throws -> MSTDiff {
        var diff = MSTDiff()
        var oldCursor = try Cursor(root: old, store: store)
        var newCursor = try Cursor(root: new, store: store)
        while true {
            switch (oldCursor.peek, newCursor.peek) {
            case (nil, nil):
                diff.newNodes = newCursor.expanded.filter { !oldCursor.expanded.keys.contains($0.key) }
                diff.removedNodes = Set(oldCursor.expanded.keys.filter { newCursor.expanded[$0] == nil })
                return diff
            case (.subtree(let a, _)?, .subtree(let b, _)?) where a == b:
                oldCursor.pop()
                newCursor.pop()
            case (.subtree(_, let la)?, .subtree(_, let lb)?):
                if la >= lb { try oldCursor.expand() } else { try newCursor.expand() }
            case (.subtree?, _):
                try oldCursor.expand()
            case (_, .subtree?):
                try newCursor.expand()
            case (.leaf(let ka, let va)?, .leaf(let kb, let vb)?):
                if ka == kb {
                    if va != vb { diff.updates.append((string(ka), va, vb)) }
                    oldCursor.pop()
                    newCursor.pop()
                } else if ka.lexicographicallyPrecedes(kb) {
                    diff.deletes.append((string(ka), va))
                    oldCursor.pop()
                } else {
                    diff.creates.append((string(kb), vb))
                    newCursor.pop()
                }
            case (.leaf(let ka, let va)?, nil):
                diff.deletes.append((string(ka), va))
                oldCursor.pop()
            case (nil, .leaf(let kb, let vb)?):
                diff.creates.append((string(kb), vb))
                newCursor.pop()
            }
        }
    }

    private static func string(_ key: [UInt8]) -> String { String(decoding: key, as: UTF8.self) }

    /// A position in a tree's in-order sequence of keys and unread subtrees.
    private struct Cursor {
        enum Item {
            case leaf([UInt8], CID)
            case subtree(CID, layer: Int)
        }

        let store: any BlockStore
        /// Items still to visit, the next one last.
        var stack: [Item] = []
        /// Every node read so far, with its bytes.
        var expanded: [CID: [UInt8]] = [:]

        init(root: CID?, store: any BlockStore) throws {
            self.store = store
            guard let root else { return }
            let tree = try MerkleSearchTree(store: store, root: root)
            guard let layer = tree.rootLayer else {
                expanded[root] = try store.getBlock(root)
                return
            }
            stack = [.subtree(root, layer: layer)]
        }

        var peek: Item? { stack.last }

        mutating func pop() { stack.removeLast() }

        /// Replaces the subtree on top with its keys and child subtrees.
        mutating func expand() throws {
            guard case .subtree(let cid, let layer)? = stack.popLast() else { return }
            let node = try MSTNodeMemo.node(cid, store: store, expectedLayer: layer)
            guard let bytes = try store.getBlock(cid) else { throw MSTError.missingBlock(cid) }
            expanded[cid] = bytes
            var items: [Item] = []
            func push(_ child: MSTChild?) {
                if case .stored(let c)? = child { items.append(.subtree(c, layer: layer - 1)) }
            }
            push(node.left)
            for entry in node.entries {
                items.append(.leaf(entry.key, entry.value))
                push(entry.right)
            }
            stack.append(contentsOf: items.reversed())
        }
    }
}
