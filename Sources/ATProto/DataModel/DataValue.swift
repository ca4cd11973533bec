/// A value of the atproto data model: what a record, a commit or an MST node
/// holds. It maps one to one onto DAG-CBOR (DRISL) and onto atproto JSON.
///
/// There are no floats: the data model forbids them. Integers are signed
/// 64-bit. A blob is an ordinary map (`$type: "blob"`, `ref`, `mimeType`,
/// `size`); see ``BlobRef`` for a typed view of it.
///
/// Only links are `indirect`: a ``CID`` holds its 32-byte digest inline,
/// which would more than double the size of every value; arrays and maps
/// already store their elements on the heap, so the other scalars need no
/// box of their own (one allocation fewer per value when decoding).
public enum DataValue: Hashable, Sendable {
    case null
    case bool(Bool)
    case int(Int64)
    case string(String)
    case bytes([UInt8])
    indirect case link(CID)
    case array([DataValue])
    case map(DataMap)
}

extension DataValue {
    /// The map, when this value is a map.
    public var mapValue: DataMap? {
        if case .map(let m) = self { return m }
        return nil
    }
    /// The string, when this value is a string.
    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }
    /// The integer, when this value is an integer.
    public var intValue: Int64? {
        if case .int(let i) = self { return i }
        return nil
    }
    /// The array, when this value is an array.
    public var arrayValue: [DataValue]? {
        if case .array(let a) = self { return a }
        return nil
    }
    /// The CID, when this value is a link.
    public var linkValue: CID? {
        if case .link(let c) = self { return c }
        return nil
    }
    /// The bytes, when this value is a byte string.
    public var bytesValue: [UInt8]? {
        if case .bytes(let b) = self { return b }
        return nil
    }
    /// The boolean, when this value is a boolean.
    public var boolValue: Bool? {
        if case .bool(let b) = self { return b }
        return nil
    }
    /// Looks up a key when this value is a map.
    public subscript(key: String) -> DataValue? {
        mapValue?[key]
    }
}

extension DataValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int64) { self = .int(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(arrayLiteral elements: DataValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, DataValue)...) {
        var map = DataMap()
        for (k, v) in elements { map[k] = v }
        self = .map(map)
    }
}

/// A data-model map with string keys, kept in DAG-CBOR canonical key order
/// (shorter keys first, then bytewise), so encoding never sorts and decoding,
/// which checks that order, only appends.
public struct DataMap: Hashable, Sendable, Sequence, ExpressibleByDictionaryLiteral {
    /// The entries in canonical order.
    public private(set) var entries: [(key: String, value: DataValue)]

    /// An empty map.
    public init() { entries = [] }

    public init(dictionaryLiteral elements: (String, DataValue)...) {
        entries = []
        for (k, v) in elements { self[k] = v }
    }

    /// Builds a map from a dictionary.
    public init(_ dictionary: [String: DataValue]) {
        entries = dictionary.map { (key: $0.key, value: $0.value) }
        entries.sort { DataMap.canonicalOrder($0.key, $1.key) }
    }

    /// Builds a map from entries already in canonical order with no duplicate
    /// keys. The DAG-CBOR decoder uses this after checking the order itself.
    public init(canonicallyOrdered entries: [(key: String, value: DataValue)]) {
        self.entries = entries
    }

    /// DAG-CBOR canonical key order: shorter UTF-8 first, then bytewise.
    public static func canonicalOrder(_ a: String, _ b: String) -> Bool {
        let au = a.utf8, bu = b.utf8
        if au.count != bu.count { return au.count < bu.count }
        return au.lexicographicallyPrecedes(bu)
    }

    public var count: Int { entries.count }
    public var isEmpty: Bool { entries.isEmpty }
    public var keys: [String] { entries.map(\.key) }

    /// Index of `key`, or the index where it would be inserted.
    private func search(_ key: String) -> (index: Int, found: Bool) {
        var low = 0, high = entries.count
        while low < high {
            let mid = (low + high) / 2
            let k = entries[mid].key
            if k == key { return (mid, true) }
            if DataMap.canonicalOrder(k, key) { low = mid + 1 } else { high = mid }
        }
        return (low, false)
    }

    /// Gets, sets or (with nil) removes the value for `key`.
    public subscript(key: String) -> DataValue? {
        get {
            let (i, found) = search(key)
            return found ? entries[i].value : nil
        }
        set {
            let (i, found) = search(key)
            switch (found, newValue) {
            case (true, let v?): entries[i].value = v
            case (true, nil): entries.remove(at: i)
            case (false, let v?): entries.insert((key, v), at: i)
            case (false, nil): break
            }
        }
    }

    public func makeIterator() -> IndexingIterator<[(key: String, value: DataValue)]> {
        entries.makeIterator()
    }

    public static func == (lhs: DataMap, rhs: DataMap) -> Bool {
        lhs.entries.count == rhs.entries.count
            && zip(lhs.entries, rhs.entries).allSatisfy { $0.key == $1.key && $0.value == $1.value }
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(entries.count)
        for (k, v) in entries {
            hasher.combine(k)
            hasher.combine(v)
        }
    }
}
