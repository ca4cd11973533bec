/// RFC 4648 base32 in the lower-case alphabet without padding: the encoding of
/// multibase prefix `b`, which atproto uses for CID strings.
public enum Base32 {
    static let alphabet: [UInt8] = Array("abcdefghijklmnopqrstuvwxyz234567".utf8)
    static let decodeTable: [Int8] = {
        var table = [Int8](repeating: -1, count: 256)
        for (i, c) in alphabet.enumerated() { table[Int(c)] = Int8(i) }
        return table
    }()

    /// Encodes bytes as lower-case base32 with no padding.
    public static func encode<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count * 8 + 4) / 5)
        var buffer: UInt32 = 0
        var bits = 0
        for byte in bytes {
            buffer = (buffer << 8) | UInt32(byte)
            bits += 8
            while bits >= 5 {
                bits -= 5
                out.append(alphabet[Int((buffer >> UInt32(bits)) & 0x1f)])
            }
        }
        if bits > 0 {
            out.append(alphabet[Int((buffer << UInt32(5 - bits)) & 0x1f)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes lower-case unpadded base32. Returns nil on any character outside
    /// the alphabet, on padding, or on non-zero trailing bits.
    public static func decode(_ string: some StringProtocol) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(string.utf8.count * 5 / 8)
        var buffer: UInt32 = 0
        var bits = 0
        for c in string.utf8 {
            let v = decodeTable[Int(c)]
            if v < 0 { return nil }
            buffer = (buffer << 5) | UInt32(v)
            bits += 5
            if bits >= 8 {
                bits -= 8
                out.append(UInt8(truncatingIfNeeded: buffer >> UInt32(bits)))
            }
        }
        // Leftover bits must be fewer than 5 and all zero (canonical form).
        if bits >= 5 || (buffer & ((1 << UInt32(bits)) - 1)) != 0 { return nil }
        return out
    }
}
