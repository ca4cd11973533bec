/// Why ``ATProtoJSON`` refused some JSON. Each case carries the byte offset
/// (from the start of the input) where the problem was found; for problems
/// with a whole object (`$link`, `$bytes`, `$type`, blobs, duplicate keys) it
/// is the offset of the object's `{`.
public enum ATProtoJSONError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The input ended before the JSON value was complete.
    case unexpectedEnd(offset: Int)
    /// A byte that JSON does not allow at this point.
    case unexpectedCharacter(offset: Int, found: UInt8, expected: String)
    /// More than whitespace follows the JSON value.
    case trailingCharacters(offset: Int)
    /// A string that is not valid UTF-8.
    case invalidUTF8(offset: Int)
    /// A backslash escape that JSON does not define, or a bad `\u` escape.
    case invalidEscape(offset: Int)
    /// A `\u` escape of half a UTF-16 surrogate pair.
    case unpairedSurrogate(offset: Int)
    /// A raw control character (below U+0020) inside a string.
    case controlCharacterInString(offset: Int)
    /// The same key appears twice in one object.
    case duplicateKey(offset: Int, key: String)
    /// A number with a fractional part; the data model has only integers.
    case notAnInteger(offset: Int, number: String)
    /// An integer outside the signed 64-bit range.
    case integerOutOfRange(offset: Int, number: String)
    /// Arrays and objects nested deeper than the limit.
    case nestingTooDeep(offset: Int, limit: Int)
    /// An object with a `$link` key that is not exactly `{"$link": "<cid>"}`.
    case invalidLink(offset: Int, reason: String)
    /// An object with a `$bytes` key that is not exactly `{"$bytes": "<base64>"}`.
    case invalidBytes(offset: Int, reason: String)
    /// A `$type` that is not a non-empty string.
    case invalidType(offset: Int)
    /// An object with `$type: "blob"` that is not a well-formed blob reference.
    case invalidBlob(offset: Int, reason: BlobRefError)
    /// A record must be a JSON object at the top level.
    case notAnObject(offset: Int)

    /// The byte offset of the problem.
    public var offset: Int {
        switch self {
        case .unexpectedEnd(let o), .trailingCharacters(let o), .invalidUTF8(let o), .invalidEscape(let o),
            .unpairedSurrogate(let o), .controlCharacterInString(let o), .invalidType(let o), .notAnObject(let o):
            return o
        case .unexpectedCharacter(let o, _, _), .duplicateKey(let o, _), .notAnInteger(let o, _),
            .integerOutOfRange(let o, _), .nestingTooDeep(let o, _), .invalidLink(let o, _),
            .invalidBytes(let o, _), .invalidBlob(let o, _):
            return o
        }
    }

    public var description: String {
        let at = "at byte \(offset)"
        switch self {
        case .unexpectedEnd:
            return "JSON ends before the value is complete (\(at))"
        case .unexpectedCharacter(_, let found, let expected):
            let shown = found >= 0x20 && found < 0x7f ? "'\(Character(Unicode.Scalar(found)))'" : "byte 0x\(String(found, radix: 16))"
            return "unexpected \(shown) in JSON, expected \(expected) (\(at))"
        case .trailingCharacters:
            return "JSON has extra characters after the value (\(at))"
        case .invalidUTF8:
            return "JSON string is not valid UTF-8 (\(at))"
        case .invalidEscape:
            return "JSON string has an invalid backslash escape (\(at))"
        case .unpairedSurrogate:
            return "JSON string has an unpaired UTF-16 surrogate escape (\(at))"
        case .controlCharacterInString:
            return "JSON string has a raw control character; it must be escaped (\(at))"
        case .duplicateKey(_, let key):
            return "JSON object has the key \"\(key)\" twice (\(at))"
        case .notAnInteger(_, let number):
            return "number \(number) is not an integer; atproto data has no floating-point numbers (\(at))"
        case .integerOutOfRange(_, let number):
            return "integer \(number) does not fit in a signed 64-bit integer (\(at))"
        case .nestingTooDeep(_, let limit):
            return "arrays and objects are nested more than \(limit) levels deep (\(at))"
        case .invalidLink(_, let reason):
            return "invalid $link object: \(reason) (\(at))"
        case .invalidBytes(_, let reason):
            return "invalid $bytes object: \(reason) (\(at))"
        case .invalidType:
            return "$type must be a non-empty string (\(at))"
        case .invalidBlob(_, let reason):
            return "invalid blob: \(reason) (\(at))"
        case .notAnObject:
            return "a record must be a JSON object (\(at))"
        }
    }
}
