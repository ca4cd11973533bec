import ATCrypto
import ATProto

/// Helpers shared by the ATCrypto tests, written independently of the
/// library's internals so they check it rather than mirror it.
enum TestSupport {
    /// Bytes from a hex string (test data only; traps on bad input).
    static func hex(_ string: String) -> [UInt8] {
        let chars = Array(string.utf8)
        precondition(chars.count % 2 == 0, "odd hex length")
        func nibble(_ c: UInt8) -> UInt8 {
            switch c {
            case 48...57: return c - 48
            case 97...102: return c - 87
            case 65...70: return c - 55
            default: preconditionFailure("bad hex")
            }
        }
        return stride(from: 0, to: chars.count, by: 2).map { nibble(chars[$0]) << 4 | nibble(chars[$0 + 1]) }
    }

    /// The group order of an ECDSA curve, big-endian.
    static func order(_ type: KeyType) -> [UInt8] {
        switch type {
        case .secp256k1: return hex("FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141")
        case .p256: return hex("FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551")
        case .ed25519: preconditionFailure("no ECDSA order for Ed25519")
        }
    }

    /// a − b for 32-byte big-endian numbers with a ≥ b.
    static func subtract(_ a: [UInt8], _ b: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        var borrow = 0
        for i in stride(from: 31, through: 0, by: -1) {
            let d = Int(a[i]) - Int(b[i]) - borrow
            out[i] = UInt8((d + 256) % 256)
            borrow = d < 0 ? 1 : 0
        }
        return out
    }

    /// Whether big-endian a ≤ b (equal lengths).
    static func lessOrEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        for (x, y) in zip(a, b) where x != y { return x < y }
        return true
    }

    /// ⌊n/2⌋ of an ECDSA curve.
    static func halfOrder(_ type: KeyType) -> [UInt8] {
        let n = order(type)
        var out = [UInt8](repeating: 0, count: 32)
        var carry: UInt8 = 0
        for i in 0..<32 {
            out[i] = n[i] >> 1 | carry
            carry = (n[i] & 1) << 7
        }
        return out
    }

    /// Whether the `s` half of a 64-byte `r‖s` signature is at most n/2.
    static func isLowS(_ signature: [UInt8], _ type: KeyType) -> Bool {
        lessOrEqual(Array(signature[32..<64]), halfOrder(type))
    }

    /// The same signature with `s` replaced by `n − s` (flips low/high S).
    static func flipS(_ signature: [UInt8], _ type: KeyType) -> [UInt8] {
        Array(signature[0..<32]) + subtract(order(type), Array(signature[32..<64]))
    }

    /// DER encoding (`SEQUENCE { INTEGER r, INTEGER s }`) of a 64-byte `r‖s`.
    static func der(_ signature: [UInt8]) -> [UInt8] {
        func integer(_ bytes: ArraySlice<UInt8>) -> [UInt8] {
            var v = Array(bytes.drop(while: { $0 == 0 }))
            if v.isEmpty { v = [0] }
            if v[0] & 0x80 != 0 { v.insert(0, at: 0) }
            return [0x02, UInt8(v.count)] + v
        }
        let body = integer(signature[0..<32]) + integer(signature[32..<64])
        return [0x30, UInt8(body.count)] + body
    }

    /// A did:key / Multikey body: `z` + base58btc(varint(code) ‖ bytes).
    static func multikey(code: UInt64, _ bytes: [UInt8]) -> String {
        Multibase.encode(Varint.encode(code) + bytes, base: .base58btc)
    }
}
