import ATProto

/// The recursive edits behind ``MerkleSearchTree/put(_:_:)`` and
/// ``MerkleSearchTree/delete(_:)``: insert splits the subtree where a new
/// key lands, delete merges the subtrees on either side of the removed key.
/// Every empty subtree is represented by nil, which keeps the shape canonical.
extension MerkleSearchTree {
    /// A subtree at `layer` holding only `key` (with empty nodes down to the
    /// key's own `height`).
    static func singleton(_ key: [UInt8], _ value: CID, layer: Int, height: Int) -> MSTNode {
        if layer == height {
            return MSTNode(layer: layer, entries: [MSTEntry(key: key, value: value, right: nil)])
        }
        return MSTNode(layer: layer, left: .node(singleton(key, value, layer: layer - 1, height: height)))
    }

    static func normalize(_ node: MSTNode) -> MSTChild? {
        node.isEmpty ? nil : .node(node)
    }

    func insert(into node: MSTNode, key: [UInt8], value: CID, height: Int) throws -> (MSTNode, CID?) {
        var node = node
        let (i, found) = node.search(key)
        if node.layer == height {
            if found {
                let previous = node.entries[i].value
                if previous != value { node.entries[i].value = value }
                return (node, previous)
            }
            let (lower, upper) = try split(node.gap(i), at: key, layer: node.layer - 1)
            node.setGap(i, lower)
            node.entries.insert(MSTEntry(key: key, value: value, right: upper), at: i)
            return (node, nil)
        }
        let child: MSTNode
        var previous: CID? = nil
        if let gap = node.gap(i) {
            (child, previous) = try insert(
                into: try load(gap, layer: node.layer - 1), key: key, value: value, height: height)
        } else {
            child = MerkleSearchTree.singleton(key, value, layer: node.layer - 1, height: height)
        }
        node.setGap(i, .node(child))
        return (node, previous)
    }

    /// Splits a subtree at `layer` into the keys below and above `key`.
    func split(_ child: MSTChild?, at key: [UInt8], layer: Int) throws -> (MSTChild?, MSTChild?) {
        guard let child else { return (nil, nil) }
        let node = try load(child, layer: layer)
        let (i, _) = node.search(key)
        let (lowerGap, upperGap) = try split(node.gap(i), at: key, layer: layer - 1)
        var lower = MSTNode(layer: layer, left: node.left, entries: Array(node.entries[..<i]))
        lower.setGap(i, lowerGap)
        let upper = MSTNode(layer: layer, left: upperGap, entries: Array(node.entries[i...]))
        return (MerkleSearchTree.normalize(lower), MerkleSearchTree.normalize(upper))
    }

    func remove(from node: MSTNode, key: [UInt8], height: Int) throws -> (MSTNode, CID?) {
        var node = node
        let (i, found) = node.search(key)
        if node.layer == height {
            guard found else { return (node, nil) }
            let entry = node.entries[i]
            let merged = try merge(node.gap(i), entry.right, layer: node.layer - 1)
            node.entries.remove(at: i)
            node.setGap(i, merged)
            return (node, entry.value)
        }
        guard let gap = node.gap(i) else { return (node, nil) }
        let (child, previous) = try remove(from: try load(gap, layer: node.layer - 1), key: key, height: height)
        guard previous != nil else { return (node, nil) }
        node.setGap(i, MerkleSearchTree.normalize(child))
        return (node, previous)
    }

    /// Joins two adjacent subtrees at `layer` (all keys of `a` below `b`'s).
    func merge(_ a: MSTChild?, _ b: MSTChild?, layer: Int) throws -> MSTChild? {
        guard let a else { return b }
        guard let b else { return a }
        let lower = try load(a, layer: layer)
        let upper = try load(b, layer: layer)
        let seam = try merge(lower.gap(lower.entries.count), upper.left, layer: layer - 1)
        var joined = MSTNode(layer: layer, left: lower.left, entries: lower.entries + upper.entries)
        joined.setGap(lower.entries.count, seam)
        return MerkleSearchTree.normalize(joined)
    }
}
