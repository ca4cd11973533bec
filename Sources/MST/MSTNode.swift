import ATProto

/// A pointer from one node to a subtree: either only its CID (not loaded
/// yet, unchanged) or the node itself (loaded, possibly changed).
indirect enum MSTChild: Sendable {
    case stored(CID)
    case node(MSTNode)
}

/// One key of a node, with the subtree of keys between it and the next key.
struct MSTEntry: Sendable {
    var key: [UInt8]
    var value: CID
    var right: MSTChild?
}

/// A node of the tree in memory. Every key of a node has the node's layer;
/// subtrees hold keys of lower layers. `cid` caches the node's CID while it
/// is unchanged since it was loaded or last serialized.
struct MSTNode: Sendable {
    var layer: Int { didSet { cid = nil } }
    var left: MSTChild? { didSet { cid = nil } }
    var entries: [MSTEntry] { didSet { cid = nil } }
    /// Cleared by any change to the node, so a set value is always current.
    var cid: CID?

    init(layer: Int, left: MSTChild? = nil, entries: [MSTEntry] = [], cid: CID? = nil) {
        self.layer = layer
        self.left = left
        self.entries = entries
        self.cid = cid
    }

    /// True when the node holds nothing at all (an empty subtree).
    var isEmpty: Bool { entries.isEmpty && left == nil }

    /// The subtree before entry `index` (index == entries.count is the last).
    func gap(_ index: Int) -> MSTChild? {
        index == 0 ? left : entries[index - 1].right
    }

    mutating func setGap(_ index: Int, _ child: MSTChild?) {
        if index == 0 { left = child } else { entries[index - 1].right = child }
    }

    /// Index of the first entry whose key is not below `key`, and whether it
    /// is equal to `key`.
    func search(_ key: [UInt8]) -> (index: Int, found: Bool) {
        var low = 0, high = entries.count
        while low < high {
            let mid = (low + high) / 2
            let k = entries[mid].key
            if k == key { return (mid, true) }
            if k.lexicographicallyPrecedes(key) { low = mid + 1 } else { high = mid }
        }
        return (low, false)
    }
}

extension MSTChild: Equatable {
    static func == (a: MSTChild, b: MSTChild) -> Bool {
        switch (a, b) {
        case (.stored(let x), .stored(let y)): return x == y
        default: return false
        }
    }
}

// MARK: - Wire form

/// The DAG-CBOR form of a node: `{e: [{k, p, t, v}], l}` with key prefix
/// compression (`p` bytes shared with the previous key, `k` the rest).
enum MSTNodeCodec {
    /// Encodes a node whose children all have known CIDs, writing the
    /// fixed shape straight into bytes (the same bytes ``DAGCBOR/encode(_:)``
    /// gives for the node as a ``DataValue``: keys `e`, `l` and `k`, `p`,
    /// `t`, `v` are in canonical order).
    static func encode(left: CID?, entries: [(key: [UInt8], value: CID, right: CID?)]) -> [UInt8] {
        typealias W = DAGCBORWriter
        let linkOrNull = { (cid: CID?) in cid == nil ? 1 : W.linkSize }
        var size = 1 + W.keySize(1) + W.headSize(entries.count) + W.keySize(1) + linkOrNull(left)
        var previous: [UInt8] = []
        for entry in entries {
            let prefix = MSTKey.commonPrefixLength(previous, entry.key)
            let suffix = entry.key.count - prefix
            size += 1 + 4 * W.keySize(1) + W.headSize(suffix) + suffix + W.headSize(prefix)
                + linkOrNull(entry.right) + W.linkSize
            previous = entry.key
        }
        return DAGCBORWriter.encode(size: size) { writer in
            writer.map(count: 2)
            writer.key("e")
            writer.array(count: entries.count)
            var previous: [UInt8] = []
            for entry in entries {
                let prefix = MSTKey.commonPrefixLength(previous, entry.key)
                writer.map(count: 4)
                writer.key("k")
                writer.byteString(entry.key[prefix...])
                writer.key("p")
                writer.unsigned(prefix)
                writer.key("t")
                writer.link(orNull: entry.right)
                writer.key("v")
                writer.link(entry.value)
                previous = entry.key
            }
            writer.key("l")
            writer.link(orNull: left)
        }
    }

    /// Decodes and checks a stored node. `expectedLayer` is nil for a root,
    /// whose layer is then read from its keys (or its child, when it has none).
    static func decode(_ bytes: [UInt8], cid: CID, expectedLayer: Int?) throws -> MSTNode {
        let value: DataValue
        do {
            value = try DAGCBOR.decode(bytes)
        } catch {
            throw MSTError.malformedNode(cid, "\(error)")
        }
        guard let map = value.mapValue, map.count == 2 else { throw MSTError.malformedNode(cid, "not an {e, l} map") }
        guard let items = map["e"]?.arrayValue else { throw MSTError.malformedNode(cid, "no entry array") }
        let left: MSTChild?
        switch map["l"] {
        case .null?: left = nil
        case .link(let c)?: left = .stored(c)
        default: throw MSTError.malformedNode(cid, "l is neither a link nor null")
        }
        var entries: [MSTEntry] = []
        entries.reserveCapacity(items.count)
        var previous: [UInt8] = []
        var layer = expectedLayer
        for item in items {
            guard let e = item.mapValue, e.count == 4,
                case .bytes(let suffix)? = e["k"], case .int(let p)? = e["p"],
                case .link(let v)? = e["v"], let t = e["t"]
            else { throw MSTError.malformedNode(cid, "malformed entry") }
            guard p >= 0, p <= previous.count else { throw MSTError.malformedNode(cid, "prefix length out of range") }
            if entries.isEmpty && p != 0 { throw MSTError.malformedNode(cid, "first entry has a prefix") }
            let key = Array(previous[..<Int(p)]) + suffix
            // The prefix must be the whole shared prefix, or the same tree would have other bytes.
            guard MSTKey.commonPrefixLength(previous, key) == Int(p) else {
                throw MSTError.malformedNode(cid, "key prefix is not maximally compressed")
            }
            guard MSTKey.isValid(key) else {
                throw MSTError.malformedNode(cid, "invalid key '\(String(decoding: key, as: UTF8.self))'")
            }
            if !entries.isEmpty && !previous.lexicographicallyPrecedes(key) {
                throw MSTError.malformedNode(cid, "keys out of order")
            }
            let height = MSTKey.height(key)
            if let l = layer, l != height { throw MSTError.malformedNode(cid, "key at the wrong layer") }
            layer = height
            let right: MSTChild?
            switch t {
            case .null: right = nil
            case .link(let c): right = .stored(c)
            default: throw MSTError.malformedNode(cid, "t is neither a link nor null")
            }
            entries.append(MSTEntry(key: key, value: v, right: right))
            previous = key
        }
        // A root with no entries takes its layer from its child; the caller fixes it up.
        return MSTNode(layer: layer ?? -1, left: left, entries: entries, cid: cid)
    }
}
