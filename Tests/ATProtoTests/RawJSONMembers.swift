/// Splits a vector file shaped `[{"key": value, ...}, ...]` into the raw
/// bytes of each member value, so a test can feed the exact JSON text of a
/// vector (with `123.0` kept as written) to the parser under test. Foundation
/// would turn `123.0` into `123` on the way.
enum RawJSONMembers {
    struct Malformed: Error, CustomStringConvertible {
        let offset: Int
        var description: String { "vector file is not an array of objects (byte \(offset))" }
    }

    static func split(_ bytes: [UInt8]) throws -> [[String: [UInt8]]] {
        var i = 0
        var result: [[String: [UInt8]]] = []
        func skipWhitespace() { while i < bytes.count, [0x20, 0x0a, 0x0d, 0x09].contains(bytes[i]) { i += 1 } }
        func expect(_ c: Character) throws {
            skipWhitespace()
            guard i < bytes.count, bytes[i] == c.asciiValue! else { throw Malformed(offset: i) }
            i += 1
        }
        func peek() -> UInt8? {
            skipWhitespace()
            return i < bytes.count ? bytes[i] : nil
        }
        /// Skips a string starting at its quote; returns its raw contents.
        func skipString() throws -> [UInt8] {
            let start = i + 1
            i += 1
            while i < bytes.count {
                if bytes[i] == 0x5c {
                    i += 2
                    continue
                }
                if bytes[i] == 0x22 {
                    i += 1
                    return Array(bytes[start..<(i - 1)])
                }
                i += 1
            }
            throw Malformed(offset: i)
        }
        func skipValue() throws {
            skipWhitespace()
            guard i < bytes.count else { throw Malformed(offset: i) }
            switch bytes[i] {
            case 0x22:
                _ = try skipString()
            case 0x7b, 0x5b:
                var depth = 0
                repeat {
                    switch bytes[i] {
                    case 0x22:
                        _ = try skipString()
                        continue
                    case 0x7b, 0x5b: depth += 1
                    case 0x7d, 0x5d: depth -= 1
                    default: break
                    }
                    i += 1
                } while depth > 0 && i < bytes.count
                guard depth == 0 else { throw Malformed(offset: i) }
            default:
                while i < bytes.count, ![0x2c, 0x7d, 0x5d, 0x20, 0x0a, 0x0d, 0x09].contains(bytes[i]) { i += 1 }
            }
        }

        try expect("[")
        if peek() == 0x5d { return [] }
        while true {
            try expect("{")
            var members: [String: [UInt8]] = [:]
            while peek() != 0x7d {
                guard peek() == 0x22 else { throw Malformed(offset: i) }
                let key = String(decoding: try skipString(), as: UTF8.self)
                try expect(":")
                skipWhitespace()
                let start = i
                try skipValue()
                members[key] = Array(bytes[start..<i])
                if peek() == 0x2c { i += 1 }
            }
            try expect("}")
            result.append(members)
            if peek() == 0x2c {
                i += 1
                continue
            }
            try expect("]")
            return result
        }
    }
}
