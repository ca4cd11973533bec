/// Unsigned LEB128 variable-length integers, as used by multiformats
/// (CID version and codec, multicodec key prefixes) and CAR section lengths.
public enum Varint {
    /// Errors raised while decoding a varint.
    public enum DecodeError: Error, Equatable, CustomStringConvertible {
        case truncated
        case overlong
        case notMinimal

        public var description: String {
            switch self {
            case .truncated: return "varint is truncated"
            case .overlong: return "varint is longer than 9 bytes or overflows 63 bits"
            case .notMinimal: return "varint is not minimally encoded"
            }
        }
    }

    /// Appends the varint encoding of `value` to `out`.
    @inlinable
    public static func encode(_ value: UInt64, into out: inout [UInt8]) {
        var v = value
        while v >= 0x80 {
            out.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        out.append(UInt8(v))
    }

    /// Returns the varint encoding of `value`.
    public static func encode(_ value: UInt64) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(10)
        encode(value, into: &out)
        return out
    }

    /// Decodes a varint from the start of `bytes`.
    ///
    /// The multiformats spec limits varints to 9 bytes (63 bits) and requires
    /// the minimal encoding; both are enforced.
    /// - Returns: the value and the number of bytes consumed.
    public static func decode<C: Collection>(_ bytes: C) throws(DecodeError) -> (value: UInt64, length: Int)
    where C.Element == UInt8 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        var count = 0
        for byte in bytes {
            count += 1
            if count > 9 { throw .overlong }
            result |= UInt64(byte & 0x7f) << shift
            if byte & 0x80 == 0 {
                if byte == 0 && count > 1 { throw .notMinimal }
                return (result, count)
            }
            shift += 7
        }
        throw .truncated
    }
}
