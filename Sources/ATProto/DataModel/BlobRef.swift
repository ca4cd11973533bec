/// A typed view of a blob reference in a record: the CID of the blob's bytes
/// (normally codec `raw`), its MIME type and its size in bytes.
///
/// In the data model a blob is the map
/// `{"$type": "blob", "ref": <link>, "mimeType": <string>, "size": <int>}`
/// with exactly those keys. Old records may hold the legacy form
/// `{"cid": "<cid string>", "mimeType": <string>}`, which has no size; it is
/// accepted when reading and gets `size` -1 (see ``isLegacy``).
public struct BlobRef: Hashable, Sendable {
    /// The CID of the blob's bytes.
    public var ref: CID
    /// The blob's MIME type, such as `image/jpeg`.
    public var mimeType: String
    /// The blob's size in bytes; -1 for a legacy reference, which has none.
    public var size: Int64

    /// A blob reference in the current form.
    public init(ref: CID, mimeType: String, size: Int64) {
        self.ref = ref
        self.mimeType = mimeType
        self.size = size
    }

    /// Whether this reference was read from the legacy `{cid, mimeType}` form.
    public var isLegacy: Bool { size < 0 }

    /// Reads a blob reference from a data-model value: the current form (with
    /// exactly the keys `$type`, `ref`, `mimeType`, `size`) or the legacy form
    /// (exactly `cid` and `mimeType`).
    public init(_ value: DataValue) throws(BlobRefError) {
        guard case .map(let map) = value else { throw .notAnObject }
        if map["$type"] == nil, map["cid"] != nil {
            try self.init(legacy: map)
        } else {
            try self.init(current: map)
        }
    }

    /// Reads the current form only.
    init(current map: DataMap) throws(BlobRefError) {
        guard case .string("blob") = map["$type"] else {
            throw .wrongType(map["$type"]?.stringValue)
        }
        for key in map.keys where !["$type", "ref", "mimeType", "size"].contains(key) {
            throw .unexpectedField(key)
        }
        guard let refValue = map["ref"] else { throw .missingField("ref") }
        guard case .link(let ref) = refValue else { throw .wrongFieldType(field: "ref", expected: "a CID link") }
        let mimeType = try BlobRef.mimeType(in: map)
        guard let sizeValue = map["size"] else { throw .missingField("size") }
        guard case .int(let size) = sizeValue else { throw .wrongFieldType(field: "size", expected: "an integer") }
        guard size >= 0 else { throw .negativeSize(size) }
        self.init(ref: ref, mimeType: mimeType, size: size)
    }

    /// Reads the legacy form only.
    init(legacy map: DataMap) throws(BlobRefError) {
        for key in map.keys where key != "cid" && key != "mimeType" {
            throw .unexpectedField(key)
        }
        guard case .string(let cidString) = map["cid"] else {
            throw .wrongFieldType(field: "cid", expected: "a CID string")
        }
        let ref: CID
        do {
            ref = try CID(string: cidString)
        } catch {
            throw .invalidLegacyCID(cidString)
        }
        self.init(ref: ref, mimeType: try BlobRef.mimeType(in: map), size: -1)
    }

    private static func mimeType(in map: DataMap) throws(BlobRefError) -> String {
        guard let value = map["mimeType"] else { throw .missingField("mimeType") }
        guard case .string(let mimeType) = value, !mimeType.isEmpty else {
            throw .wrongFieldType(field: "mimeType", expected: "a non-empty string")
        }
        return mimeType
    }

    /// The data-model form: the current form, or for a legacy reference the
    /// legacy form it was read from, so stored records keep their bytes.
    public var dataValue: DataValue {
        if isLegacy {
            return ["cid": .string(ref.string), "mimeType": .string(mimeType)]
        }
        return ["$type": "blob", "ref": .link(ref), "mimeType": .string(mimeType), "size": .int(size)]
    }
}

/// Why a value is not a blob reference.
public enum BlobRefError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The value is not a map.
    case notAnObject
    /// `$type` is missing or is not `"blob"` (the value found, if a string).
    case wrongType(String?)
    /// A required field is absent.
    case missingField(String)
    /// A field holds the wrong kind of value.
    case wrongFieldType(field: String, expected: String)
    /// A field that a blob reference does not have.
    case unexpectedField(String)
    /// `size` is negative.
    case negativeSize(Int64)
    /// The legacy form's `cid` is not a valid CID string.
    case invalidLegacyCID(String)

    public var description: String {
        switch self {
        case .notAnObject: return "a blob reference must be an object"
        case .wrongType(let type?): return "a blob reference must have $type \"blob\", not \"\(type)\""
        case .wrongType(nil): return "a blob reference must have $type \"blob\""
        case .missingField(let field): return "blob reference is missing \"\(field)\""
        case .wrongFieldType(let field, let expected): return "blob reference field \"\(field)\" must be \(expected)"
        case .unexpectedField(let field): return "blob reference has an unexpected field \"\(field)\""
        case .negativeSize(let size): return "blob size \(size) is negative"
        case .invalidLegacyCID(let cid): return "legacy blob reference has an invalid CID \"\(cid)\""
        }
    }
}
