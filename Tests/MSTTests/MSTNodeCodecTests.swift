import ATProto
import Testing

@testable import MST

/// The MST node encoder writes nodes straight into bytes; they must be the
/// bytes the generic DAG-CBOR encoder gives for the same node, and decode
/// back to it.
@Suite("MST node codec")
struct MSTNodeCodecTests {
    @Test func directEncodingEqualsTheGenericOne() throws {
        var rng = SystemRandomNumberGenerator()
        func cid(_ n: Int) -> CID { CID.compute(Array("block \(n)".utf8), codec: n % 5 == 0 ? .raw : .dagCBOR) }
        func key(_ n: Int) -> [UInt8] {
            // Collections and record keys of several lengths, so suffix and
            // prefix lengths cross the one-byte head (23) and beyond 255.
            let collection = ["app.bsky.feed.post", "app.bsky.graph.follow", "a", String(repeating: "c", count: 300)][n % 4]
            return Array("\(collection)/\(String(repeating: "k", count: Int.random(in: 1...40, using: &rng)))\(n)".utf8)
        }
        for round in 0..<300 {
            let count = [0, 1, 2, 23, 24, 30][round % 6]
            let keys = (0..<count).map { key(round * 100 + $0) }.sorted { $0.lexicographicallyPrecedes($1) }
            let entries = keys.enumerated().map { i, k in
                (key: k, value: cid(round * 1000 + i), right: Bool.random(using: &rng) ? cid(round * 1000 + 500 + i) : nil)
            }
            let left = round % 3 == 0 ? nil : cid(round)
            let direct = MSTNodeCodec.encode(left: left, entries: entries)
            #expect(direct == Self.encodeAsDataValue(left: left, entries: entries))
            // The strict decoder accepts them (canonical DAG-CBOR) and they hold the node.
            let value = try DAGCBOR.decode(direct)
            let items = value.mapValue?["e"]?.arrayValue ?? []
            #expect(items.count == count)
            #expect(items.map { $0.mapValue?["v"]?.linkValue } == entries.map(\.value))
            #expect(items.map { $0.mapValue?["t"]?.linkValue } == entries.map(\.right))
            #expect(value.mapValue?["l"]?.linkValue == left)
        }
    }

    /// The same node built as a ``DataValue`` and encoded generically: the
    /// reference the direct encoder is checked against.
    static func encodeAsDataValue(left: CID?, entries: [(key: [UInt8], value: CID, right: CID?)]) -> [UInt8] {
        var items: [DataValue] = []
        items.reserveCapacity(entries.count)
        var previous: [UInt8] = []
        for entry in entries {
            let prefix = MSTKey.commonPrefixLength(previous, entry.key)
            var map = DataMap()
            map["k"] = .bytes(Array(entry.key[prefix...]))
            map["p"] = .int(Int64(prefix))
            map["t"] = entry.right.map { .link($0) } ?? .null
            map["v"] = .link(entry.value)
            items.append(.map(map))
            previous = entry.key
        }
        var node = DataMap()
        node["e"] = .array(items)
        node["l"] = left.map { .link($0) } ?? .null
        return DAGCBOR.encode(.map(node))
    }
}
