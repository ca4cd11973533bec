/// The atproto JSON form of data-model values, both ways.
///
/// JSON has no bytes or links, so atproto writes them as special objects:
/// a link is `{"$link": "<cid string>"}` and bytes are
/// `{"$bytes": "<standard base64 without padding>"}`, each with exactly that
/// one key. Numbers must be integers in the signed 64-bit range; a number
/// written with a fraction or exponent is accepted when its value is an
/// integer (`123.0`, `1e2`) and refused otherwise (`1.5`).
///
/// In ``Mode/strict`` mode (the default) decoding also enforces the rules of
/// valid atproto data: an object with a `$link` or `$bytes` key must be
/// exactly that special object, `$type` must be a non-empty string, and an
/// object with `$type: "blob"` must be a well-formed ``BlobRef``.
/// Use ``decodeRecord(_:)`` when the top level must be an object.
public enum ATProtoJSON {
    /// The deepest nesting of arrays and objects accepted; a top-level array
    /// or object is at depth 1.
    public static let maxNestingDepth = 128

    /// How strictly ``ATProtoJSON/decode(_:mode:)`` checks the data.
    public enum Mode: Sendable {
        /// Valid atproto data only (see ``ATProtoJSON``).
        case strict
        /// Any JSON that maps onto the data model: only an exact
        /// `{"$link": "<valid CID>"}` or `{"$bytes": "<valid base64>"}`
        /// object is special, any other object (with extra keys, say) stays
        /// an ordinary map, and `$type` and blobs are not checked. Floats,
        /// out-of-range integers and malformed JSON are still refused. This
        /// reads back the JSON of anything DAG-CBOR can hold.
        case lenient
    }

    /// Decodes one JSON value (UTF-8) into a data-model value.
    public static func decode(_ json: some Collection<UInt8>, mode: Mode = .strict) throws(ATProtoJSONError) -> DataValue {
        let result = json.withContiguousStorageIfAvailable { buffer in
            Result { () throws(ATProtoJSONError) in try decode(buffer: buffer, mode: mode) }
        }
        if let result { return try result.get() }
        return try Array(json).withUnsafeBufferPointer { buffer in
            Result { () throws(ATProtoJSONError) in try decode(buffer: buffer, mode: mode) }
        }.get()
    }

    /// Decodes one JSON value from a string.
    public static func decode(_ json: String, mode: Mode = .strict) throws(ATProtoJSONError) -> DataValue {
        var json = json
        return try json.withUTF8 { buffer in
            Result { () throws(ATProtoJSONError) in try decode(buffer: buffer, mode: mode) }
        }.get()
    }

    /// Decodes a record: strict atproto JSON whose top level is an object.
    public static func decodeRecord(_ json: some Collection<UInt8>) throws(ATProtoJSONError) -> DataMap {
        let value = try decode(json, mode: .strict)
        guard case .map(let map) = value else {
            // Point at the first non-whitespace byte: the value that is not an object.
            let offset = json.firstIndex { ![0x20, 0x0a, 0x0d, 0x09].contains($0) }.map { json.distance(from: json.startIndex, to: $0) } ?? 0
            throw .notAnObject(offset: offset)
        }
        return map
    }

    static func decode(buffer: UnsafeBufferPointer<UInt8>, mode: Mode) throws(ATProtoJSONError) -> DataValue {
        guard let base = buffer.baseAddress, buffer.count > 0 else { throw .unexpectedEnd(offset: 0) }
        var parser = ATProtoJSONParser(base: base, end: buffer.count, mode: mode)
        return try parser.parseDocument()
    }

    /// Turns a parsed object into a map, link or bytes, applying the rules of
    /// `mode`. `offset` is where the object starts.
    static func finishObject(
        _ entries: [(key: String, value: DataValue)], offset: Int, mode: Mode
    ) throws(ATProtoJSONError) -> DataValue {
        var entries = entries
        // JSON key order is free; put the keys in canonical order.
        var sorted = true
        for i in entries.indices.dropFirst() where !DataMap.canonicalOrder(entries[i - 1].key, entries[i].key) {
            sorted = false
            break
        }
        if !sorted {
            entries.sort { DataMap.canonicalOrder($0.key, $1.key) }
            for i in entries.indices.dropFirst() where entries[i - 1].key == entries[i].key {
                throw .duplicateKey(offset: offset, key: entries[i].key)
            }
        }
        let map = DataMap(canonicallyOrdered: entries)
        let strict = mode == .strict

        if let link = map["$link"] {
            let problem: String
            if map.count != 1 {
                problem = "it must have no key other than $link"
            } else if case .string(let string) = link {
                do {
                    return .link(try CID(string: string))
                } catch {
                    problem = "\"\(string)\" is not a valid CID: \(error)"
                }
            } else {
                problem = "$link must be a CID string"
            }
            if strict { throw .invalidLink(offset: offset, reason: problem) }
        }

        if let bytes = map["$bytes"] {
            let problem: String
            if map.count != 1 {
                problem = "it must have no key other than $bytes"
            } else if case .string(let string) = bytes {
                if let decoded = Base64.decode(string, alphabet: .standard) { return .bytes(decoded) }
                problem = "$bytes is not valid standard base64"
            } else {
                problem = "$bytes must be a base64 string"
            }
            if strict { throw .invalidBytes(offset: offset, reason: problem) }
        }

        if strict, let type = map["$type"] {
            guard case .string(let typeName) = type, !typeName.isEmpty else { throw .invalidType(offset: offset) }
            if typeName == "blob" {
                do {
                    _ = try BlobRef(current: map)
                } catch {
                    throw .invalidBlob(offset: offset, reason: error)
                }
            }
        }
        return .map(map)
    }

    // MARK: Encoding

    /// Encodes `value` as compact atproto JSON (UTF-8, no whitespace), with
    /// object keys in the map's (canonical) order.
    public static func encode(_ value: DataValue) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        write(value, into: &out)
        return out
    }

    /// Encodes `value` as compact atproto JSON text.
    public static func encodeString(_ value: DataValue) -> String {
        String(decoding: encode(value), as: UTF8.self)
    }

    static func write(_ value: DataValue, into out: inout [UInt8]) {
        switch value {
        case .null:
            out.append(contentsOf: "null".utf8)
        case .bool(let b):
            out.append(contentsOf: (b ? "true" : "false").utf8)
        case .int(let i):
            out.append(contentsOf: String(i).utf8)
        case .string(let s):
            writeString(s, into: &out)
        case .bytes(let bytes):
            out.append(contentsOf: #"{"$bytes":""#.utf8)
            out.append(contentsOf: Base64.encode(bytes, alphabet: .standard, padding: false).utf8)
            out.append(contentsOf: #""}"#.utf8)
        case .link(let cid):
            out.append(contentsOf: #"{"$link":""#.utf8)
            out.append(contentsOf: cid.string.utf8)
            out.append(contentsOf: #""}"#.utf8)
        case .array(let elements):
            out.append(UInt8(ascii: "["))
            for (i, element) in elements.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                write(element, into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .map(let map):
            out.append(UInt8(ascii: "{"))
            for (i, entry) in map.entries.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                writeString(entry.key, into: &out)
                out.append(UInt8(ascii: ":"))
                write(entry.value, into: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    /// Writes a JSON string, escaping `"`, `\` and control characters.
    static func writeString(_ string: String, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        var string = string
        string.withUTF8 { utf8 in
            var runStart = 0
            for (i, byte) in utf8.enumerated() where byte < 0x20 || byte == 0x22 || byte == 0x5c {
                out.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<i]))
                runStart = i + 1
                out.append(UInt8(ascii: "\\"))
                switch byte {
                case 0x22: out.append(0x22)
                case 0x5c: out.append(0x5c)
                case 0x08: out.append(UInt8(ascii: "b"))
                case 0x0c: out.append(UInt8(ascii: "f"))
                case 0x0a: out.append(UInt8(ascii: "n"))
                case 0x0d: out.append(UInt8(ascii: "r"))
                case 0x09: out.append(UInt8(ascii: "t"))
                default:
                    out.append(contentsOf: "u00".utf8)
                    out.append(hexDigits[Int(byte >> 4)])
                    out.append(hexDigits[Int(byte & 0xf)])
                }
            }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart...]))
        }
        out.append(UInt8(ascii: "\""))
    }
}
