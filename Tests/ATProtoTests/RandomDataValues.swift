@testable import ATProto

/// A small, seeded random number generator (SplitMix64) so that random tests
/// are reproducible: a failure prints its seed.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Builds random data-model values for round-trip and fuzz tests.
struct RandomDataValues {
    var rng: SeededGenerator

    init(seed: UInt64) { rng = SeededGenerator(seed: seed) }

    mutating func int() -> Int64 {
        switch Int.random(in: 0..<6, using: &rng) {
        case 0: return Int64.random(in: -24...23, using: &rng)
        case 1: return Int64.random(in: -300...300, using: &rng)
        case 2: return Int64.random(in: -70_000...70_000, using: &rng)
        case 3: return Int64.random(in: Int64(Int32.min) * 4...Int64(Int32.max) * 4, using: &rng)
        case 4: return [Int64.min, Int64.max, 0, -1, 23, 24, -24, -25, 255, 256, 65535, 65536][Int.random(in: 0..<12, using: &rng)]
        default: return Int64.random(in: Int64.min...Int64.max, using: &rng)
        }
    }

    mutating func string(maxLength: Int = 20) -> String {
        let length = Int.random(in: 0...maxLength, using: &rng)
        var scalars = String.UnicodeScalarView()
        for _ in 0..<length {
            let scalar: Unicode.Scalar?
            switch Int.random(in: 0..<10, using: &rng) {
            case 0: scalar = Unicode.Scalar(UInt32.random(in: 0...0x1f, using: &rng))
            case 1: scalar = Unicode.Scalar(UInt32.random(in: 0x80...0x7ff, using: &rng))
            case 2: scalar = Unicode.Scalar(UInt32.random(in: 0x800...0xffff, using: &rng))
            case 3: scalar = Unicode.Scalar(UInt32.random(in: 0x10000...0x10ffff, using: &rng))
            case 4: scalar = ["\"", "\\", "/", "$", "\u{2028}", "\u{7f}"].randomElement(using: &rng)!.unicodeScalars.first
            default: scalar = Unicode.Scalar(UInt32.random(in: 0x20...0x7e, using: &rng))
            }
            if let scalar { scalars.append(scalar) }
        }
        return String(scalars)
    }

    mutating func bytes(maxLength: Int = 40) -> [UInt8] {
        (0..<Int.random(in: 0...maxLength, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
    }

    mutating func cid() -> CID {
        CID(codec: Bool.random(using: &rng) ? .dagCBOR : .raw, digest: (0..<32).map { _ in UInt8.random(in: 0...255, using: &rng) })
    }

    /// A map key: mostly short ASCII, sometimes any string.
    mutating func key() -> String {
        if Int.random(in: 0..<4, using: &rng) == 0 { return string(maxLength: 8) }
        let letters = Array("abcdefghijklmnopqrstuvwxyz$_ABC")
        return String((0..<Int.random(in: 0...6, using: &rng)).map { _ in letters.randomElement(using: &rng)! })
    }

    /// A random value; `depth` limits nesting.
    mutating func value(depth: Int = 4) -> DataValue {
        let kinds = depth > 0 ? 8 : 6
        switch Int.random(in: 0..<kinds, using: &rng) {
        case 0: return .null
        case 1: return .bool(Bool.random(using: &rng))
        case 2: return .int(int())
        case 3: return .string(string())
        case 4: return .bytes(bytes())
        case 5: return .link(cid())
        case 6: return .array((0..<Int.random(in: 0...5, using: &rng)).map { _ in value(depth: depth - 1) })
        default:
            var map = DataMap()
            for _ in 0..<Int.random(in: 0...6, using: &rng) { map[key()] = value(depth: depth - 1) }
            return .map(map)
        }
    }
}

extension Array where Element == UInt8 {
    /// Lower-case hex, for failure messages.
    var hex: String { map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined() }
}
