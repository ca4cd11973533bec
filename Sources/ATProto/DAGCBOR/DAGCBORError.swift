/// Why ``DAGCBOR`` refused some bytes. Each case carries the byte offset
/// (from the start of the input) of the item or byte at fault.
public enum DAGCBORError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The input ended in the middle of an item.
    case truncated(offset: Int)
    /// One complete item was read, but more bytes follow it.
    case trailingBytes(offset: Int)
    /// An integer, length or tag was not written in its shortest form.
    case nonMinimalEncoding(offset: Int)
    /// The head used additional information 28–30, which CBOR reserves.
    case reservedAdditionalInfo(offset: Int)
    /// An indefinite-length string, array or map, or a stray "break" byte.
    case indefiniteLength(offset: Int)
    /// A floating-point number; the atproto data model has none.
    case floatNotAllowed(offset: Int)
    /// `undefined` or another simple value than `false`, `true`, `null`.
    case unsupportedSimpleValue(offset: Int)
    /// An integer outside the signed 64-bit range.
    case integerOutOfRange(offset: Int)
    /// A string, array or map declares more bytes or entries than the input
    /// has left.
    case lengthExceedsInput(offset: Int, declared: UInt64, available: Int)
    /// A map key that is not a text string.
    case mapKeyNotString(offset: Int)
    /// The same key appears twice in one map.
    case duplicateMapKey(offset: Int, key: String)
    /// A map key that should come before the previous key (canonical order is
    /// shorter keys first, then bytewise).
    case mapKeysOutOfOrder(offset: Int, key: String)
    /// A tag other than 42 (CID link).
    case unsupportedTag(offset: Int, tag: UInt64)
    /// Tag 42 does not wrap a byte string.
    case linkNotByteString(offset: Int)
    /// Tag 42's byte string does not start with the 0x00 multibase prefix.
    case linkMissingPrefix(offset: Int)
    /// Tag 42's bytes are not a CIDv1 with sha2-256 and the dag-cbor or raw codec.
    case invalidCID(offset: Int, reason: CID.ParseError)
    /// A text string that is not valid UTF-8.
    case invalidUTF8(offset: Int)
    /// Arrays and maps nested deeper than the limit.
    case nestingTooDeep(offset: Int, limit: Int)

    /// The byte offset of the problem.
    public var offset: Int {
        switch self {
        case .truncated(let o), .trailingBytes(let o), .nonMinimalEncoding(let o),
            .reservedAdditionalInfo(let o), .indefiniteLength(let o), .floatNotAllowed(let o),
            .unsupportedSimpleValue(let o), .integerOutOfRange(let o), .mapKeyNotString(let o),
            .linkNotByteString(let o), .linkMissingPrefix(let o), .invalidUTF8(let o):
            return o
        case .lengthExceedsInput(let o, _, _), .duplicateMapKey(let o, _), .mapKeysOutOfOrder(let o, _),
            .unsupportedTag(let o, _), .invalidCID(let o, _), .nestingTooDeep(let o, _):
            return o
        }
    }

    public var description: String {
        let at = "at byte \(offset)"
        switch self {
        case .truncated:
            return "DAG-CBOR input ends in the middle of a value (\(at))"
        case .trailingBytes:
            return "DAG-CBOR input has extra bytes after the value (\(at))"
        case .nonMinimalEncoding:
            return "DAG-CBOR integer or length is not in its shortest form (\(at))"
        case .reservedAdditionalInfo:
            return "DAG-CBOR head uses a reserved additional-information value (\(at))"
        case .indefiniteLength:
            return "DAG-CBOR does not allow indefinite lengths or break bytes (\(at))"
        case .floatNotAllowed:
            return "floating-point numbers are not allowed in atproto data (\(at))"
        case .unsupportedSimpleValue:
            return "only false, true and null are allowed as simple values (\(at))"
        case .integerOutOfRange:
            return "integer does not fit in a signed 64-bit integer (\(at))"
        case .lengthExceedsInput(_, let declared, let available):
            return "DAG-CBOR item declares length \(declared) but only \(available) bytes are left (\(at))"
        case .mapKeyNotString:
            return "map keys must be text strings (\(at))"
        case .duplicateMapKey(_, let key):
            return "map key \"\(key)\" appears twice (\(at))"
        case .mapKeysOutOfOrder(_, let key):
            return "map key \"\(key)\" is out of canonical order (\(at))"
        case .unsupportedTag(_, let tag):
            return "CBOR tag \(tag) is not allowed; only tag 42 (CID link) is (\(at))"
        case .linkNotByteString:
            return "CID link (tag 42) must wrap a byte string (\(at))"
        case .linkMissingPrefix:
            return "CID link bytes must start with 0x00 (\(at))"
        case .invalidCID(_, let reason):
            return "CID link is invalid: \(reason) (\(at))"
        case .invalidUTF8:
            return "text string is not valid UTF-8 (\(at))"
        case .nestingTooDeep(_, let limit):
            return "arrays and maps are nested more than \(limit) levels deep (\(at))"
        }
    }
}
