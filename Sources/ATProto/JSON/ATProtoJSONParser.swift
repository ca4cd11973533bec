/// A strict RFC 8259 JSON parser that produces data-model values directly,
/// keeping integers exact (Foundation's parser cannot tell `1` from `1.0`
/// or `true`, and rounds integers above 2^53).
///
/// It reads a raw buffer by offset. Whitespace is only space, tab, LF and
/// CR; strings must be UTF-8 with control characters escaped; numbers follow
/// the JSON grammar and must have an integer value.
struct ATProtoJSONParser {
    let base: UnsafePointer<UInt8>
    let end: Int
    let mode: ATProtoJSON.Mode
    var position = 0

    init(base: UnsafePointer<UInt8>, end: Int, mode: ATProtoJSON.Mode) {
        self.base = base
        self.end = end
        self.mode = mode
    }

    typealias Error = ATProtoJSONError

    /// Parses the whole input as one value surrounded by optional whitespace.
    mutating func parseDocument() throws(Error) -> DataValue {
        skipWhitespace()
        let value = try parseValue(depth: 0)
        skipWhitespace()
        guard position == end else { throw .trailingCharacters(offset: position) }
        return value
    }

    @inline(__always)
    mutating func skipWhitespace() {
        while position < end {
            switch base[position] {
            case 0x20, 0x0a, 0x0d, 0x09: position += 1
            default: return
            }
        }
    }

    /// The next byte, or an `unexpectedEnd` error.
    @inline(__always)
    func peek() throws(Error) -> UInt8 {
        guard position < end else { throw .unexpectedEnd(offset: position) }
        return base[position]
    }

    func unexpected(_ expected: String) -> Error {
        position < end
            ? .unexpectedCharacter(offset: position, found: base[position], expected: expected)
            : .unexpectedEnd(offset: position)
    }

    mutating func parseValue(depth: Int) throws(Error) -> DataValue {
        switch try peek() {
        case UInt8(ascii: "{"): return try parseObject(depth: depth)
        case UInt8(ascii: "["): return try parseArray(depth: depth)
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): return try parseLiteral("true", .bool(true))
        case UInt8(ascii: "f"): return try parseLiteral("false", .bool(false))
        case UInt8(ascii: "n"): return try parseLiteral("null", .null)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .int(try parseNumber())
        default: throw unexpected("a JSON value")
        }
    }

    mutating func parseLiteral(_ word: StaticString, _ value: DataValue) throws(Error) -> DataValue {
        let count = word.utf8CodeUnitCount
        for i in 0..<count {
            guard position < end, base[position] == word.utf8Start[i] else { throw unexpected("\"\(word)\"") }
            position += 1
        }
        return value
    }

    mutating func parseArray(depth: Int) throws(Error) -> DataValue {
        guard depth < ATProtoJSON.maxNestingDepth else {
            throw .nestingTooDeep(offset: position, limit: ATProtoJSON.maxNestingDepth)
        }
        position += 1  // [
        var elements: [DataValue] = []
        skipWhitespace()
        if try peek() == UInt8(ascii: "]") {
            position += 1
            return .array(elements)
        }
        while true {
            skipWhitespace()
            elements.append(try parseValue(depth: depth + 1))
            skipWhitespace()
            switch try peek() {
            case UInt8(ascii: ","): position += 1
            case UInt8(ascii: "]"):
                position += 1
                return .array(elements)
            default: throw unexpected("',' or ']'")
            }
        }
    }

    mutating func parseObject(depth: Int) throws(Error) -> DataValue {
        let start = position
        guard depth < ATProtoJSON.maxNestingDepth else {
            throw .nestingTooDeep(offset: start, limit: ATProtoJSON.maxNestingDepth)
        }
        position += 1  // {
        var entries: [(key: String, value: DataValue)] = []
        skipWhitespace()
        if try peek() == UInt8(ascii: "}") {
            position += 1
            return .map(DataMap())
        }
        while true {
            skipWhitespace()
            guard try peek() == UInt8(ascii: "\"") else { throw unexpected("a string key") }
            let key = try parseString()
            skipWhitespace()
            guard try peek() == UInt8(ascii: ":") else { throw unexpected("':'") }
            position += 1
            skipWhitespace()
            let value = try parseValue(depth: depth + 1)
            entries.append((key: key, value: value))
            skipWhitespace()
            switch try peek() {
            case UInt8(ascii: ","): position += 1
            case UInt8(ascii: "}"):
                position += 1
                return try ATProtoJSON.finishObject(entries, offset: start, mode: mode)
            default: throw unexpected("',' or '}'")
            }
        }
    }

    /// Parses a string starting at its opening quote.
    mutating func parseString() throws(Error) -> String {
        let start = position + 1
        var i = start
        // Fast path: no escapes, so the bytes can become the String directly.
        while i < end {
            let c = base[i]
            if c == UInt8(ascii: "\"") {
                guard let string = UTF8Validation.string(base + start, count: i - start) else {
                    throw .invalidUTF8(offset: start)
                }
                position = i + 1
                return string
            }
            if c == UInt8(ascii: "\\") { return try parseEscapedString(start: start, firstEscape: i) }
            if c < 0x20 { throw .controlCharacterInString(offset: i) }
            i += 1
        }
        throw .unexpectedEnd(offset: end)
    }

    /// The slow path of ``parseString()`` once a backslash shows up.
    mutating func parseEscapedString(start: Int, firstEscape: Int) throws(Error) -> String {
        var buffer: [UInt8] = []
        buffer.reserveCapacity(firstEscape - start + 16)
        buffer.append(contentsOf: UnsafeBufferPointer(start: base + start, count: firstEscape - start))
        var i = firstEscape
        while i < end {
            let c = base[i]
            if c == UInt8(ascii: "\"") {
                // Escapes only add complete UTF-8 sequences, so checking the
                // whole buffer checks the raw parts.
                guard let string = buffer.withUnsafeBufferPointer({ UTF8Validation.string($0.baseAddress!, count: $0.count) })
                else { throw .invalidUTF8(offset: start) }
                position = i + 1
                return string
            }
            if c < 0x20 { throw .controlCharacterInString(offset: i) }
            if c != UInt8(ascii: "\\") {
                buffer.append(c)
                i += 1
                continue
            }
            guard i + 1 < end else { throw .unexpectedEnd(offset: end) }
            switch base[i + 1] {
            case UInt8(ascii: "\""): buffer.append(0x22)
            case UInt8(ascii: "\\"): buffer.append(0x5c)
            case UInt8(ascii: "/"): buffer.append(0x2f)
            case UInt8(ascii: "b"): buffer.append(0x08)
            case UInt8(ascii: "f"): buffer.append(0x0c)
            case UInt8(ascii: "n"): buffer.append(0x0a)
            case UInt8(ascii: "r"): buffer.append(0x0d)
            case UInt8(ascii: "t"): buffer.append(0x09)
            case UInt8(ascii: "u"):
                let (scalar, length) = try parseUnicodeEscape(at: i)
                UTF8.encode(scalar) { buffer.append($0) }
                i += length
                continue
            default: throw .invalidEscape(offset: i)
            }
            i += 2
        }
        throw .unexpectedEnd(offset: end)
    }

    /// Four hex digits at `offset`, or nil.
    func hex4(at offset: Int) -> UInt32? {
        guard offset + 4 <= end else { return nil }
        var value: UInt32 = 0
        for k in 0..<4 {
            let c = base[offset + k]
            let digit: UInt8
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = c - UInt8(ascii: "A") + 10
            default: return nil
            }
            value = value << 4 | UInt32(digit)
        }
        return value
    }

    /// A `\uXXXX` escape at `i` (or a surrogate pair of two), and its length.
    func parseUnicodeEscape(at i: Int) throws(Error) -> (Unicode.Scalar, Int) {
        guard let unit = hex4(at: i + 2) else {
            throw i + 6 > end ? .unexpectedEnd(offset: end) : .invalidEscape(offset: i)
        }
        switch unit {
        case 0xD800...0xDBFF:
            guard i + 12 <= end, base[i + 6] == UInt8(ascii: "\\"), base[i + 7] == UInt8(ascii: "u"),
                let low = hex4(at: i + 8), (0xDC00...0xDFFF).contains(low)
            else { throw .unpairedSurrogate(offset: i) }
            let value = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00)
            return (Unicode.Scalar(value)!, 12)
        case 0xDC00...0xDFFF:
            throw .unpairedSurrogate(offset: i)
        default:
            return (Unicode.Scalar(unit)!, 6)
        }
    }

    @inline(__always)
    func isDigit(_ offset: Int) -> Bool {
        offset < end && base[offset] &- UInt8(ascii: "0") < 10
    }

    /// Parses a JSON number whose value must be an integer in the Int64 range.
    /// `123.0`, `1.5e1` and `1e2` are integers; `1.5` is not.
    mutating func parseNumber() throws(Error) -> Int64 {
        let start = position
        var i = position
        let negative = base[i] == UInt8(ascii: "-")
        if negative { i += 1 }
        guard isDigit(i) else {
            position = i
            throw unexpected("a digit")
        }
        let intStart = i
        if base[i] == UInt8(ascii: "0") {
            i += 1
        } else {
            while isDigit(i) { i += 1 }
        }
        let intEnd = i
        var fracStart = i, fracEnd = i
        var hasExponent = false
        var exponent = 0
        if i < end && base[i] == UInt8(ascii: ".") {
            i += 1
            guard isDigit(i) else {
                position = i
                throw unexpected("a digit after '.'")
            }
            fracStart = i
            while isDigit(i) { i += 1 }
            fracEnd = i
        }
        if i < end && (base[i] | 0x20) == UInt8(ascii: "e") {
            hasExponent = true
            i += 1
            var exponentNegative = false
            if i < end && (base[i] == UInt8(ascii: "+") || base[i] == UInt8(ascii: "-")) {
                exponentNegative = base[i] == UInt8(ascii: "-")
                i += 1
            }
            guard isDigit(i) else {
                position = i
                throw unexpected("a digit in the exponent")
            }
            while isDigit(i) {
                // Saturate: any exponent this large is out of range or zero anyway.
                exponent = min(exponent * 10 + Int(base[i] - UInt8(ascii: "0")), 1_000_000_000)
                i += 1
            }
            if exponentNegative { exponent = -exponent }
        }
        position = i
        var magnitude: UInt64 = 0
        if fracStart == fracEnd && !hasExponent {
            // Plain integer: the common case.
            for k in intStart..<intEnd {
                let (product, overflow1) = magnitude.multipliedReportingOverflow(by: 10)
                let (sum, overflow2) = product.addingReportingOverflow(UInt64(base[k] &- UInt8(ascii: "0")))
                guard !overflow1, !overflow2 else { throw .integerOutOfRange(offset: start, number: text(start, i)) }
                magnitude = sum
            }
        } else {
            // Significant digits (integer then fraction digits) times 10^scale.
            var digits = Array(UnsafeBufferPointer(start: base + intStart, count: intEnd - intStart))
            digits += UnsafeBufferPointer(start: base + fracStart, count: fracEnd - fracStart)
            var scale = exponent - (fracEnd - fracStart)
            let firstNonZero = digits.firstIndex { $0 != UInt8(ascii: "0") } ?? digits.count
            var significant = digits[firstNonZero...]
            while let last = significant.last, last == UInt8(ascii: "0") {
                significant.removeLast()
                scale += 1
            }
            if significant.isEmpty { return 0 }
            guard scale >= 0 else { throw .notAnInteger(offset: start, number: text(start, i)) }
            guard significant.count + scale <= 19 else {
                throw .integerOutOfRange(offset: start, number: text(start, i))
            }
            for digit in significant {
                magnitude = magnitude * 10 + UInt64(digit &- UInt8(ascii: "0"))  // at most 19 digits: no overflow
            }
            for _ in 0..<scale {
                let (product, overflow) = magnitude.multipliedReportingOverflow(by: 10)
                guard !overflow else { throw .integerOutOfRange(offset: start, number: text(start, i)) }
                magnitude = product
            }
        }
        if negative {
            guard magnitude <= UInt64(Int64.max) + 1 else { throw .integerOutOfRange(offset: start, number: text(start, i)) }
            return Int64(bitPattern: 0 &- magnitude)
        }
        guard magnitude <= UInt64(Int64.max) else { throw .integerOutOfRange(offset: start, number: text(start, i)) }
        return Int64(magnitude)
    }

    /// The text of a number for an error message (at most 64 bytes).
    func text(_ start: Int, _ stop: Int) -> String {
        String(decoding: UnsafeBufferPointer(start: base + start, count: min(stop - start, 64)), as: UTF8.self)
    }
}
