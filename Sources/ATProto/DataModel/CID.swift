import Crypto
import Foundation

/// A content identifier (CIDv1) as atproto uses it: a multicodec (`dag-cbor`
/// 0x71 for data-model blocks, `raw` 0x55 for blobs) and a SHA-256 multihash.
///
/// The string form is multibase base32 lower (`bafyrei…`, `bafkrei…`); the
/// binary form is `varint(1) varint(codec) varint(0x12) varint(32) digest`.
public struct CID: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The content codecs atproto uses.
    public enum Codec: UInt64, Sendable {
        case dagCBOR = 0x71
        case raw = 0x55
    }

    /// Multihash code of SHA-256.
    public static let sha256Code: UInt64 = 0x12

    /// Errors raised while parsing a CID.
    public enum ParseError: Error, Equatable, CustomStringConvertible {
        case notBase32(String)
        case unsupportedVersion(UInt64)
        case unsupportedCodec(UInt64)
        case unsupportedHash(UInt64)
        case wrongDigestLength(UInt64)
        case truncated
        case trailingBytes
        case malformedVarint

        public var description: String {
            switch self {
            case .notBase32(let s): return "CID '\(s)' is not a base32 (multibase 'b') CIDv1 string"
            case .unsupportedVersion(let v): return "CID version \(v) is not supported (only CIDv1)"
            case .unsupportedCodec(let c): return "CID codec 0x\(String(c, radix: 16)) is not dag-cbor or raw"
            case .unsupportedHash(let h): return "CID hash 0x\(String(h, radix: 16)) is not sha2-256"
            case .wrongDigestLength(let n): return "CID digest is \(n) bytes, expected 32"
            case .truncated: return "CID bytes are truncated"
            case .trailingBytes: return "CID has bytes after the digest"
            case .malformedVarint: return "CID has a malformed varint"
            }
        }
    }

    /// The content codec.
    public let codec: Codec
    /// The digest's 32 bytes, in order, held inline: a CID is copied,
    /// compared and hashed without touching the heap (commits put CIDs in
    /// many dictionaries and sets).
    private let words: (UInt64, UInt64, UInt64, UInt64)

    /// The 32-byte SHA-256 digest of the content.
    public var digest: [UInt8] {
        withDigestBytes { Array($0) }
    }

    /// Calls `body` with the digest's 32 bytes, without copying them.
    @inline(__always)
    public func withDigestBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        var copy = words
        return try withUnsafeBytes(of: &copy) { try body($0) }
    }

    public static func == (lhs: CID, rhs: CID) -> Bool {
        lhs.codec == rhs.codec && lhs.words.0 == rhs.words.0 && lhs.words.1 == rhs.words.1
            && lhs.words.2 == rhs.words.2 && lhs.words.3 == rhs.words.3
    }

    /// Hashes the digest as four words (what equality compares).
    public func hash(into hasher: inout Hasher) {
        hasher.combine(codec)
        hasher.combine(words.0)
        hasher.combine(words.1)
        hasher.combine(words.2)
        hasher.combine(words.3)
    }

    /// Creates a CID from its parts; `digest` must be 32 bytes.
    public init(codec: Codec, digest: [UInt8]) {
        precondition(digest.count == 32, "a sha2-256 digest is 32 bytes")
        self = digest.withUnsafeBytes { CID(codec: codec, digestBytes: $0) }
    }

    /// Creates a CID from its codec and the 32 bytes of its digest.
    public init(codec: Codec, digestBytes: UnsafeRawBufferPointer) {
        precondition(digestBytes.count == 32, "a sha2-256 digest is 32 bytes")
        self.codec = codec
        var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        withUnsafeMutableBytes(of: &words) { $0.copyMemory(from: digestBytes) }
        self.words = words
    }

    /// The CID of `bytes` under `codec`, hashing them with SHA-256.
    public static func compute<D: DataProtocol>(_ bytes: D, codec: Codec = .dagCBOR) -> CID {
        SHA256.hash(data: bytes).withUnsafeBytes { CID(codec: codec, digestBytes: $0) }
    }

    /// Parses the binary form, which must be exactly one CID.
    public init<C: Collection>(bytes: C) throws(ParseError) where C.Element == UInt8 {
        let (cid, length) = try CID.decodePrefix(bytes)
        guard length == bytes.count else { throw .trailingBytes }
        self = cid
    }

    /// Parses a CID at the start of `bytes` (as in a CAR section).
    /// - Returns: the CID and the number of bytes it took.
    public static func decodePrefix<C: Collection>(_ bytes: C) throws(ParseError) -> (CID, Int)
    where C.Element == UInt8 {
        // Fast path: every CID atproto uses starts 01 (71|55) 12 20.
        if bytes.count >= 36 {
            var i = bytes.startIndex
            let v = bytes[i]
            bytes.formIndex(after: &i)
            let c = bytes[i]
            bytes.formIndex(after: &i)
            let h = bytes[i]
            bytes.formIndex(after: &i)
            let l = bytes[i]
            bytes.formIndex(after: &i)
            if v == 1, h == 0x12, l == 0x20, let codec = Codec(rawValue: UInt64(c)) {
                let digest = bytes[i..<bytes.index(i, offsetBy: 32)]
                let cid = digest.withContiguousStorageIfAvailable { CID(codec: codec, digestBytes: UnsafeRawBufferPointer($0)) }
                return (cid ?? CID(codec: codec, digest: Array(digest)), 36)
            }
        }
        var rest = bytes[...]
        func next() throws(ParseError) -> UInt64 {
            do {
                let (v, n) = try Varint.decode(rest)
                rest = rest.dropFirst(n)
                return v
            } catch .truncated {
                throw .truncated
            } catch {
                throw .malformedVarint
            }
        }
        let version = try next()
        guard version == 1 else { throw .unsupportedVersion(version) }
        let codecCode = try next()
        guard let codec = Codec(rawValue: codecCode) else { throw .unsupportedCodec(codecCode) }
        let hash = try next()
        guard hash == sha256Code else { throw .unsupportedHash(hash) }
        let length = try next()
        guard length == 32 else { throw .wrongDigestLength(length) }
        guard rest.count >= 32 else { throw .truncated }
        let digest = Array(rest.prefix(32))
        let consumed = bytes.count - rest.count + 32
        return (CID(codec: codec, digest: digest), consumed)
    }

    /// Parses the base32 string form (`b…`).
    public init(string: String) throws(ParseError) {
        guard string.first == "b", let bytes = Base32.decode(string.dropFirst()) else {
            throw .notBase32(string)
        }
        try self.init(bytes: bytes)
    }

    /// The binary form: 36 bytes for a sha2-256 CIDv1.
    public var bytes: [UInt8] {
        var out: [UInt8] = [0x01]
        out.reserveCapacity(36)
        Varint.encode(codec.rawValue, into: &out)
        out.append(0x12)
        out.append(0x20)
        withDigestBytes { out.append(contentsOf: $0) }
        return out
    }

    /// The base32 string form, `b` followed by the lower-case base32 bytes.
    public var string: String { "b" + Base32.encode(bytes) }

    public var description: String { string }

    /// Orders CIDs by their binary form.
    public static func < (lhs: CID, rhs: CID) -> Bool {
        // Both codecs are one-byte varints, so the binary forms differ first
        // in the codec, then in the digest.
        if lhs.codec != rhs.codec { return lhs.codec.rawValue < rhs.codec.rawValue }
        return lhs.withDigestBytes { l in rhs.withDigestBytes { r in l.lexicographicallyPrecedes(r) } }
    }
}
