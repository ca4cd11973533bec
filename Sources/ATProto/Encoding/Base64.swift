/// Base64 (RFC 4648) in the standard and URL-safe alphabets.
///
/// atproto writes `$bytes` in standard base64 without padding; JWTs use the
/// URL-safe alphabet without padding. Decoding accepts input with or without
/// padding but rejects characters outside the chosen alphabet and non-zero
/// trailing bits.
public enum Base64 {
    /// Which 64-character alphabet to use.
    public enum Alphabet: Sendable {
        case standard
        case url

        var characters: [UInt8] {
            switch self {
            case .standard: return Base64.standardChars
            case .url: return Base64.urlChars
            }
        }
        var table: [Int8] {
            switch self {
            case .standard: return Base64.standardTable
            case .url: return Base64.urlTable
            }
        }
    }

    static let standardChars: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    static let urlChars: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
    static let standardTable = makeTable(standardChars)
    static let urlTable = makeTable(urlChars)

    static func makeTable(_ chars: [UInt8]) -> [Int8] {
        var table = [Int8](repeating: -1, count: 256)
        for (i, c) in chars.enumerated() { table[Int(c)] = Int8(i) }
        return table
    }

    /// Encodes bytes; `padding` adds `=` to a multiple of four characters.
    public static func encode<C: Collection>(
        _ bytes: C, alphabet: Alphabet = .standard, padding: Bool = false
    ) -> String where C.Element == UInt8 {
        let chars = alphabet.characters
        let input = Array(bytes)
        var out: [UInt8] = []
        out.reserveCapacity((input.count + 2) / 3 * 4)
        var i = 0
        while i + 3 <= input.count {
            let n = UInt32(input[i]) << 16 | UInt32(input[i + 1]) << 8 | UInt32(input[i + 2])
            out.append(chars[Int(n >> 18 & 63)])
            out.append(chars[Int(n >> 12 & 63)])
            out.append(chars[Int(n >> 6 & 63)])
            out.append(chars[Int(n & 63)])
            i += 3
        }
        let rest = input.count - i
        if rest == 1 {
            let n = UInt32(input[i]) << 16
            out.append(chars[Int(n >> 18 & 63)])
            out.append(chars[Int(n >> 12 & 63)])
            if padding { out.append(contentsOf: [61, 61]) }
        } else if rest == 2 {
            let n = UInt32(input[i]) << 16 | UInt32(input[i + 1]) << 8
            out.append(chars[Int(n >> 18 & 63)])
            out.append(chars[Int(n >> 12 & 63)])
            out.append(chars[Int(n >> 6 & 63)])
            if padding { out.append(61) }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes base64 with optional padding; nil on malformed input.
    public static func decode(_ string: some StringProtocol, alphabet: Alphabet = .standard) -> [UInt8]? {
        decode(utf8: string.utf8, alphabet: alphabet)
    }

    /// Decodes base64 text given as its UTF-8 bytes (a slice of a larger
    /// buffer, say); nil on malformed input.
    public static func decode(utf8 text: some Collection<UInt8>, alphabet: Alphabet = .standard) -> [UInt8]? {
        var chars = Array(text)
        if chars.count % 4 == 0 {
            // Strip at most two padding characters, only when the length is padded.
            if chars.last == 61 { chars.removeLast() }
            if chars.last == 61 { chars.removeLast() }
        }
        if chars.count % 4 == 1 { return nil }
        let table = alphabet.table
        var out: [UInt8] = []
        out.reserveCapacity(chars.count * 3 / 4)
        var buffer: UInt32 = 0
        var bits = 0
        for c in chars {
            let v = table[Int(c)]
            if v < 0 { return nil }
            buffer = (buffer << 6) | UInt32(v)
            bits += 6
            if bits >= 8 {
                bits -= 8
                out.append(UInt8(truncatingIfNeeded: buffer >> UInt32(bits)))
            }
        }
        if buffer & ((1 << UInt32(bits)) - 1) != 0 { return nil }
        return out
    }
}
