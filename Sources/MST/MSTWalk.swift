import ATProto

/// Reading the tree in key order: ranges, collections, counts and the list
/// of every node block (for exporting a repository).
extension MerkleSearchTree {
    /// Calls `body` for every key strictly between `after` and `before`, in
    /// ascending order (or descending when `reverse`), until it returns false.
    public func forEach(
        after: String? = nil, before: String? = nil, reverse: Bool = false,
        _ body: (String, CID) throws -> Bool
    ) throws {
        guard let root else { return }
        let lower = after.map { Array($0.utf8) }
        let upper = before.map { Array($0.utf8) }
        _ = try walk(root, lower: lower, upper: upper, reverse: reverse) { key, value in
            try body(String(decoding: key, as: UTF8.self), value)
        }
    }

    /// The entries strictly between `after` and `before`, at most `limit`.
    public func list(after: String? = nil, before: String? = nil, limit: Int = .max, reverse: Bool = false) throws
        -> [(key: String, value: CID)]
    {
        var out: [(key: String, value: CID)] = []
        guard limit > 0 else { return out }
        try forEach(after: after, before: before, reverse: reverse) { key, value in
            out.append((key, value))
            return out.count < limit
        }
        return out
    }

    /// The records of one collection, paged by record key the way
    /// `com.atproto.repo.listRecords` pages them: `cursor` is the last record
    /// key of the previous page.
    public func list(collection: String, cursor: String? = nil, limit: Int, reverse: Bool = false) throws
        -> [(key: String, value: CID)]
    {
        // Keys of a collection sort between "<collection>/" and "<collection>0" ('0' follows '/').
        let floor = collection + "/"
        let ceiling = collection + "0"
        if reverse {
            return try list(after: floor, before: cursor.map { floor + $0 } ?? ceiling, limit: limit, reverse: true)
        }
        return try list(after: cursor.map { floor + $0 } ?? floor, before: ceiling, limit: limit)
    }

    /// The number of keys in the tree (a full walk).
    public func count() throws -> Int {
        var n = 0
        try forEach { _, _ in
            n += 1
            return true
        }
        return n
    }

    /// Returns false when `body` asked to stop.
    private func walk(
        _ node: MSTNode, lower: [UInt8]?, upper: [UInt8]?, reverse: Bool,
        _ body: ([UInt8], CID) throws -> Bool
    ) throws -> Bool {
        let n = node.entries.count
        func above(_ key: [UInt8]) -> Bool { lower.map { $0.lexicographicallyPrecedes(key) } ?? true }
        func below(_ key: [UInt8]) -> Bool { upper.map { key.lexicographicallyPrecedes($0) } ?? true }
        // Gap i holds the keys between entry i-1 and entry i.
        func visitGap(_ i: Int) throws -> Bool {
            guard let gap = node.gap(i) else { return true }
            if i < n && !above(node.entries[i].key) { return true }
            if i > 0 && !below(node.entries[i - 1].key) { return true }
            return try walk(try load(gap, layer: node.layer - 1), lower: lower, upper: upper, reverse: reverse, body)
        }
        func visitEntry(_ i: Int) throws -> Bool {
            let e = node.entries[i]
            guard above(e.key) && below(e.key) else { return true }
            return try body(e.key, e.value)
        }
        if reverse {
            for i in stride(from: n, through: 0, by: -1) {
                guard try visitGap(i) else { return false }
                if i > 0 {
                    if !above(node.entries[i - 1].key) { return true }
                    guard try visitEntry(i - 1) else { return false }
                }
            }
        } else {
            for i in 0...n {
                guard try visitGap(i) else { return false }
                if i < n {
                    if !below(node.entries[i].key) { return true }
                    guard try visitEntry(i) else { return false }
                }
            }
        }
        return true
    }

    /// Calls `body` with every node of the tree (root first, then subtrees
    /// in key order). The tree must be serialized.
    public func forEachNode(_ body: (CID, [UInt8]) throws -> Void) throws {
        guard let root else {
            try body(MerkleSearchTree.emptyRootCID, MerkleSearchTree.emptyNodeBytes)
            return
        }
        try visitNodes(root, body)
    }

    private func visitNodes(_ node: MSTNode, _ body: (CID, [UInt8]) throws -> Void) throws {
        guard let cid = node.cid else { preconditionFailure("serialize() the tree before walking its nodes") }
        try body(cid, try nodeBytes(node))
        for i in 0...node.entries.count {
            if let gap = node.gap(i) { try visitNodes(try load(gap, layer: node.layer - 1), body) }
        }
    }
}

/// Checking a tree someone else built.
extension MerkleSearchTree {
    /// Walks the whole tree checking that it is the canonical tree of its
    /// keys: every key sits at its own layer, inside the key range of its
    /// subtree, in order, with maximal prefix compression; no empty node
    /// hangs inside the tree; the root holds keys of its own. A tree that
    /// passes has the same root CID as any correct implementation would
    /// build from its entries. `body` receives every entry in key order.
    public func validate(_ body: (String, CID) throws -> Void) throws {
        guard let root else { return }
        if root.entries.isEmpty {
            throw MSTError.malformedNode(root.cid ?? MerkleSearchTree.emptyRootCID, "the root has no keys of its own")
        }
        try validate(root, lower: nil, upper: nil, body)
    }

    private func validate(_ node: MSTNode, lower: [UInt8]?, upper: [UInt8]?, _ body: (String, CID) throws -> Void) throws {
        let n = node.entries.count
        for i in 0...n {
            if let gap = node.gap(i) {
                let child = try load(gap, layer: node.layer - 1)
                try validate(
                    child, lower: i == 0 ? lower : node.entries[i - 1].key,
                    upper: i == n ? upper : node.entries[i].key, body)
            }
            guard i < n else { break }
            let entry = node.entries[i]
            let inRange = (lower.map { $0.lexicographicallyPrecedes(entry.key) } ?? true)
                && (upper.map { entry.key.lexicographicallyPrecedes($0) } ?? true)
            guard inRange else {
                throw MSTError.malformedNode(node.cid ?? MerkleSearchTree.emptyRootCID, "a key lies outside its subtree's range")
            }
            try body(String(decoding: entry.key, as: UTF8.self), entry.value)
        }
    }
}
