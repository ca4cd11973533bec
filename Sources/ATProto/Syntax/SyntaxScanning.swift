/// Byte-level helpers shared by the hand-written identifier scanners.
///
/// All atproto identifiers are ASCII, so the scanners work on the UTF-8 bytes
/// of a string: any byte ≥ 0x80 is simply a disallowed character.
enum ASCII {
    static let hyphen: UInt8 = 0x2D  // -
    static let dot: UInt8 = 0x2E  // .
    static let slash: UInt8 = 0x2F  // /
    static let colon: UInt8 = 0x3A  // :
    static let percent: UInt8 = 0x25  // %
    static let underscore: UInt8 = 0x5F  // _
    static let tilde: UInt8 = 0x7E  // ~
    static let plus: UInt8 = 0x2B  // +
    static let equals: UInt8 = 0x3D  // =

    @inline(__always) static func isDigit(_ c: UInt8) -> Bool { c &- 0x30 < 10 }
    @inline(__always) static func isLower(_ c: UInt8) -> Bool { c &- 0x61 < 26 }
    @inline(__always) static func isUpper(_ c: UInt8) -> Bool { c &- 0x41 < 26 }
    @inline(__always) static func isLetter(_ c: UInt8) -> Bool { (c | 0x20) &- 0x61 < 26 }
    @inline(__always) static func isAlnum(_ c: UInt8) -> Bool { isLetter(c) || isDigit(c) }
    @inline(__always) static func lowercased(_ c: UInt8) -> UInt8 { isUpper(c) ? c | 0x20 : c }

    /// Whether `bytes` starts with the ASCII string `prefix`.
    static func hasPrefix(_ bytes: UnsafeBufferPointer<UInt8>, _ prefix: StaticString) -> Bool {
        let count = prefix.utf8CodeUnitCount
        guard bytes.count >= count else { return false }
        let p = prefix.utf8Start
        for i in 0..<count where bytes[i] != p[i] { return false }
        return true
    }

    /// Whether two byte ranges are equal, ignoring ASCII case.
    static func equalsIgnoringCase(_ a: UnsafeBufferPointer<UInt8>, _ b: StaticString) -> Bool {
        guard a.count == b.utf8CodeUnitCount else { return false }
        let p = b.utf8Start
        for i in 0..<a.count where lowercased(a[i]) != lowercased(p[i]) { return false }
        return true
    }
}

extension UnsafeBufferPointer where Element == UInt8 {
    /// The sub-buffer of `range`, re-based to start at index 0.
    @inline(__always) func slice(_ range: Range<Int>) -> UnsafeBufferPointer<UInt8> {
        UnsafeBufferPointer(rebasing: self[range])
    }

    /// The index of the first `byte` at or after `start`, or `count`.
    @inline(__always) func index(of byte: UInt8, from start: Int = 0) -> Int {
        var i = start
        while i < count && self[i] != byte { i += 1 }
        return i
    }
}

extension String {
    /// Runs `body` on the contiguous UTF-8 bytes of the string (no copy for
    /// native strings).
    @inline(__always) func withUTF8Bytes<R>(_ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        var copy = self
        return copy.withUTF8(body)
    }
}

/// Shared `Codable` plumbing: the identifier types encode as a plain string
/// and validate while decoding.
enum SyntaxCoding {
    static func decodeString(from decoder: any Decoder) throws -> String {
        try decoder.singleValueContainer().decode(String.self)
    }

    static func dataCorrupted(_ decoder: any Decoder, _ error: SyntaxError) -> DecodingError {
        DecodingError.dataCorrupted(
            DecodingError.Context(
                codingPath: decoder.codingPath,
                debugDescription: error.message,
                underlyingError: error
            )
        )
    }

    static func encode(_ string: String, to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(string)
    }
}

/// The shape handles and NSIDs share: labels of ASCII letters, digits and
/// hyphens, 1 to a maximum length each, separated by single dots.
enum DottedLabels {
    /// Why `b` does not have that shape, or what `each` finds wrong with a
    /// label (given its byte range, its index and whether it is the last),
    /// or nil. `of` names the thing in messages ("a handle"), `labelName`
    /// its parts ("label").
    @inline(__always)
    static func problem(
        _ b: UnsafeBufferPointer<UInt8>, of thing: String, labelName: String, maxLabelLength: Int, badCharacter: String,
        each: (_ label: Range<Int>, _ index: Int, _ isLast: Bool) -> String?
    ) -> String? {
        var start = 0
        var index = 0
        for i in 0...b.count {
            if i < b.count {
                let c = b[i]
                if c != ASCII.dot {
                    if ASCII.isAlnum(c) || c == ASCII.hyphen { continue }
                    return badCharacter
                }
            }
            let length = i - start
            if length == 0 { return "\(thing) can't start or end with a dot or have two dots in a row" }
            if length > maxLabelLength { return "each \(labelName) of \(thing) is at most \(maxLabelLength) characters long" }
            if let problem = each(start..<i, index, i == b.count) { return problem }
            index += 1
            start = i + 1
        }
        return nil
    }
}
