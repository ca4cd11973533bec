import ATProto

/// Builds a tree in one pass from many entries, far faster than adding them
/// one at a time: each key's layer is computed once and each node is made
/// once, directly in its final shape.
extension MerkleSearchTree {
    /// A tree holding exactly `entries` (in any order; later duplicates win).
    public static func build(store: any BlockStore, entries: [(key: String, value: CID)]) throws -> MerkleSearchTree {
        var byKey: [[UInt8]: CID] = [:]
        byKey.reserveCapacity(entries.count)
        for (key, value) in entries {
            let k = Array(key.utf8)
            guard MSTKey.isValid(k) else { throw MSTError.invalidKey(key) }
            byKey[k] = value
        }
        let sorted = byKey.sorted { $0.key.lexicographicallyPrecedes($1.key) }
        let keys = sorted.map(\.key)
        let values = sorted.map(\.value)
        let heights = keys.map { MSTKey.height($0) }
        var tree = MerkleSearchTree(store: store)
        guard let top = heights.max() else { return tree }
        let builder = Builder(keys: keys, values: values, heights: heights)
        if case .node(let root)? = builder.subtree(0..<keys.count, layer: top) { tree.root = root }
        return tree
    }

    private struct Builder {
        let keys: [[UInt8]]
        let values: [CID]
        let heights: [Int]

        /// The subtree at `layer` holding the keys in `range` (all of height ≤ layer).
        func subtree(_ range: Range<Int>, layer: Int) -> MSTChild? {
            guard !range.isEmpty else { return nil }
            var node = MSTNode(layer: layer)
            var start = range.lowerBound
            var entries: [MSTEntry] = []
            for i in range where heights[i] == layer {
                let gap = subtree(start..<i, layer: layer - 1)
                if entries.isEmpty { node.left = gap } else { entries[entries.count - 1].right = gap }
                entries.append(MSTEntry(key: keys[i], value: values[i], right: nil))
                start = i + 1
            }
            let last = subtree(start..<range.upperBound, layer: layer - 1)
            if entries.isEmpty { node.left = last } else { entries[entries.count - 1].right = last }
            node.entries = entries
            return MerkleSearchTree.normalize(node)
        }
    }
}
