/// Scalar checks against the order `n` of the NIST P-256 group, on 32-byte
/// big-endian numbers.
///
/// swift-crypto accepts and produces high-S P-256 signatures; atproto requires
/// low-S (`s ≤ n/2`), so signing replaces `s` with `n − s` when needed and
/// verification refuses `s > n/2`. Only byte comparison and subtraction are
/// done here; all curve arithmetic stays in swift-crypto.
enum P256Order {
    /// The group order n.
    static let n: [UInt8] = [
        0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
        0xBC, 0xE6, 0xFA, 0xAD, 0xA7, 0x17, 0x9E, 0x84, 0xF3, 0xB9, 0xCA, 0xC2, 0xFC, 0x63, 0x25, 0x51,
    ]

    /// ⌊n / 2⌋, the largest low-S value.
    static let halfN: [UInt8] = {
        var out = [UInt8](repeating: 0, count: 32)
        var carry: UInt8 = 0
        for i in 0..<32 {
            out[i] = (n[i] >> 1) | carry
            carry = (n[i] & 1) << 7
        }
        return out
    }()

    /// -1, 0 or 1 as `a` is below, equal to or above `b` (both 32 bytes).
    static func compare<A: Collection, B: Collection>(_ a: A, _ b: B) -> Int
    where A.Element == UInt8, B.Element == UInt8 {
        for (x, y) in zip(a, b) where x != y {
            return x < y ? -1 : 1
        }
        return 0
    }

    /// Whether a 32-byte `s` is in low-S form (`s ≤ ⌊n/2⌋`).
    static func isLowS<C: Collection>(_ s: C) -> Bool where C.Element == UInt8 {
        s.count == 32 && compare(s, halfN) <= 0
    }

    /// `n − s` for a 32-byte `s` with `0 < s < n`.
    static func negate<C: Collection>(_ s: C) -> [UInt8] where C.Element == UInt8 {
        let value = Array(s)
        precondition(value.count == 32, "scalar must be 32 bytes")
        var out = [UInt8](repeating: 0, count: 32)
        var borrow = 0
        for i in stride(from: 31, through: 0, by: -1) {
            var d = Int(n[i]) - Int(value[i]) - borrow
            borrow = d < 0 ? 1 : 0
            if d < 0 { d += 256 }
            out[i] = UInt8(d)
        }
        return out
    }

    /// Whether a 32-byte value is a valid private scalar: `0 < k < n`.
    static func isValidScalar(_ k: [UInt8]) -> Bool {
        k.count == 32 && k.contains(where: { $0 != 0 }) && compare(k, n) < 0
    }
}
