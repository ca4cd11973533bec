import ATProto
import Crypto

/// Rules for MST keys (`<collection>/<record key>`) and their place in the
/// tree.
public enum MSTKey {
    /// Longest key accepted, in bytes.
    public static let maxLength = 1024

    /// Whether `key` is a valid repository path: exactly one `/`, both parts
    /// non-empty, ASCII letters, digits and `_~-:.` only, at most 1024 bytes.
    public static func isValid(_ key: String) -> Bool {
        isValid(Array(key.utf8))
    }

    static func isValid(_ key: [UInt8]) -> Bool {
        guard !key.isEmpty, key.count <= maxLength else { return false }
        var slash: Int? = nil
        for (i, c) in key.enumerated() {
            if c == UInt8(ascii: "/") {
                if slash != nil { return false }
                slash = i
                continue
            }
            guard isAllowed(c) else { return false }
        }
        guard let s = slash else { return false }
        return s > 0 && s < key.count - 1
    }

    private static func isAllowed(_ c: UInt8) -> Bool {
        switch c {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        case UInt8(ascii: "_"), UInt8(ascii: "~"), UInt8(ascii: "-"), UInt8(ascii: ":"), UInt8(ascii: "."):
            return true
        default:
            return false
        }
    }

    /// The layer of a key: leading zero bits of SHA-256(key), counted in
    /// 2-bit chunks (a fanout of 4).
    public static func height(_ key: String) -> Int {
        height(Array(key.utf8))
    }

    static func height<C: Collection>(_ key: C) -> Int where C.Element == UInt8 {
        let digest = SHA256.hash(data: Array(key))
        var zeros = 0
        for byte in digest {
            if byte == 0 {
                zeros += 8
                continue
            }
            zeros += byte.leadingZeroBitCount
            break
        }
        return zeros / 2
    }

    /// Length in bytes of the common prefix of two keys.
    public static func commonPrefixLength(_ a: String, _ b: String) -> Int {
        commonPrefixLength(Array(a.utf8), Array(b.utf8))
    }

    static func commonPrefixLength(_ a: [UInt8], _ b: [UInt8]) -> Int {
        var i = 0
        let n = min(a.count, b.count)
        while i < n && a[i] == b[i] { i += 1 }
        return i
    }
}
