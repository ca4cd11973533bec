/// Multibase strings: a one-character prefix naming the base, then the data.
/// atproto uses `b` (base32 lower, for CIDs) and `z` (base58btc, for keys).
public enum Multibase {
    /// The bases this project reads and writes.
    public enum Base: Character, Sendable {
        case base32 = "b"
        case base58btc = "z"
    }

    /// Errors raised while decoding a multibase string.
    public enum DecodeError: Error, Equatable, CustomStringConvertible {
        case empty
        case unsupportedBase(Character)
        case invalidCharacters

        public var description: String {
            switch self {
            case .empty: return "multibase string is empty"
            case .unsupportedBase(let c): return "unsupported multibase prefix '\(c)'"
            case .invalidCharacters: return "multibase string has characters outside its base"
            }
        }
    }

    /// Encodes bytes with the given base and its prefix.
    public static func encode<C: Collection>(_ bytes: C, base: Base) -> String where C.Element == UInt8 {
        switch base {
        case .base32: return "b" + Base32.encode(bytes)
        case .base58btc: return "z" + Base58.encode(bytes)
        }
    }

    /// Decodes a multibase string in one of the supported bases.
    public static func decode(_ string: String) throws(DecodeError) -> (base: Base, bytes: [UInt8]) {
        guard let first = string.first else { throw .empty }
        guard let base = Base(rawValue: first) else { throw .unsupportedBase(first) }
        let body = string.dropFirst()
        let decoded: [UInt8]?
        switch base {
        case .base32: decoded = Base32.decode(body)
        case .base58btc: decoded = Base58.decode(body)
        }
        guard let bytes = decoded else { throw .invalidCharacters }
        return (base, bytes)
    }
}
