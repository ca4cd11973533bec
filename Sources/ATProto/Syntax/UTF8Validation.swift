/// A fast, allocation-free UTF-8 validity check for decoders, which then
/// build their `String` with `String(decoding:as:)` (that never has to repair
/// anything after this check). It avoids the standard library's generic
/// `String(validating:as:)`, which is not specialized for raw buffers.
enum UTF8Validation {
    /// Whether `count` bytes at `start` are well-formed UTF-8 (no overlong
    /// forms, no surrogates, nothing above U+10FFFF, no truncated sequences).
    @inline(__always)
    static func isValid(_ start: UnsafePointer<UInt8>, count: Int) -> Bool {
        var i = 0
        // ASCII fast path, eight bytes at a time.
        while i &+ 8 <= count {
            let word = UnsafeRawPointer(start + i).loadUnaligned(as: UInt64.self)
            if word & 0x8080_8080_8080_8080 != 0 { break }
            i &+= 8
        }
        while i < count {
            let b0 = start[i]
            if b0 < 0x80 {
                i &+= 1
                continue
            }
            return validateMultibyte(start, count: count, from: i)
        }
        return true
    }

    /// The general path once a non-ASCII byte shows up.
    static func validateMultibyte(_ p: UnsafePointer<UInt8>, count: Int, from: Int) -> Bool {
        var i = from
        while i < count {
            let b0 = p[i]
            if b0 < 0x80 {
                i &+= 1
            } else if b0 < 0xC2 {
                return false  // a stray continuation byte, or an overlong two-byte form
            } else if b0 < 0xE0 {
                guard i &+ 1 < count, p[i &+ 1] & 0xC0 == 0x80 else { return false }
                i &+= 2
            } else if b0 < 0xF0 {
                guard i &+ 2 < count else { return false }
                let b1 = p[i &+ 1], b2 = p[i &+ 2]
                guard b1 & 0xC0 == 0x80, b2 & 0xC0 == 0x80 else { return false }
                if b0 == 0xE0 && b1 < 0xA0 { return false }  // overlong
                if b0 == 0xED && b1 >= 0xA0 { return false }  // UTF-16 surrogate
                i &+= 3
            } else if b0 < 0xF5 {
                guard i &+ 3 < count else { return false }
                let b1 = p[i &+ 1], b2 = p[i &+ 2], b3 = p[i &+ 3]
                guard b1 & 0xC0 == 0x80, b2 & 0xC0 == 0x80, b3 & 0xC0 == 0x80 else { return false }
                if b0 == 0xF0 && b1 < 0x90 { return false }  // overlong
                if b0 == 0xF4 && b1 >= 0x90 { return false }  // above U+10FFFF
                i &+= 4
            } else {
                return false
            }
        }
        return true
    }

    /// A `String` from `count` bytes at `start`, or nil if they are not UTF-8.
    @inline(__always)
    static func string(_ start: UnsafePointer<UInt8>, count: Int) -> String? {
        guard isValid(start, count: count) else { return nil }
        return String(decoding: UnsafeBufferPointer(start: start, count: count), as: UTF8.self)
    }
}
