/// A timestamp identifier: a 64-bit number written as 13 characters of
/// base32-sortable (`234567abcdefghijklmnopqrstuvwxyz`), used for record keys
/// and repository revisions.
///
/// The number is `0 | timestamp (53 bits, microseconds since the Unix epoch)
/// | clock id (10 bits)`. Because the alphabet is in ASCII order and the
/// length is fixed, the string order equals the numeric order, which is the
/// `Comparable` order here.
///
/// Syntax (the atproto TID spec): exactly 13 characters of the alphabet
/// (lower case only), the first one of `234567abcdefghij` so the value fits
/// in 64 bits. TIDs made by `init(timestampMicros:clockID:)` and
/// `TIDGenerator` also keep the top bit 0, so they start with `2–7`, `a` or
/// `b`; a parsed TID with the top bit set keeps it (its `timestampMicros`
/// then has 54 bits).
public struct TID: Comparable, SyntaxCheckedString {
    /// The length of a TID string.
    public static let length = 13
    /// The largest timestamp (in microseconds) a new TID can hold: 2^53 − 1.
    public static let maxTimestampMicros: UInt64 = (1 << 53) - 1
    /// The largest clock id: 2^10 − 1.
    public static let maxClockID: UInt16 = (1 << 10) - 1

    static let alphabet: [UInt8] = Array("234567abcdefghijklmnopqrstuvwxyz".utf8)

    /// The 64-bit value.
    public let value: UInt64

    /// Parses a TID string.
    public init(_ string: String) throws(SyntaxError) {
        guard let value = string.withUTF8Bytes(TID.decode) else {
            throw SyntaxError(kind: .tid, value: string, reason: TID.problem(string))
        }
        self.value = value
    }

    /// A TID from a timestamp in microseconds since the Unix epoch and a
    /// clock id.
    /// - Precondition: `timestampMicros <= TID.maxTimestampMicros` and
    ///   `clockID <= TID.maxClockID` (10 bits).
    public init(timestampMicros: UInt64, clockID: UInt16) {
        precondition(timestampMicros <= TID.maxTimestampMicros, "a TID timestamp has 53 bits")
        precondition(clockID <= TID.maxClockID, "a TID clock id has 10 bits")
        self.value = timestampMicros << 10 | UInt64(clockID)
    }

    /// A TID with the given 64-bit value. Every 64-bit value has a TID
    /// string (13 × 5 bits hold 65 bits); values with the top bit set are
    /// syntactically valid but are not made by spec-following generators.
    public init(value: UInt64) {
        self.value = value
    }

    /// Whether `string` is a syntactically valid TID.
    public static func isValid(_ string: String) -> Bool {
        string.withUTF8Bytes(decode) != nil
    }

    /// The timestamp: microseconds since the Unix epoch.
    public var timestampMicros: UInt64 { value >> 10 }

    /// The clock id (10 bits), which tells apart TIDs made in the same
    /// microsecond by different generators.
    public var clockID: UInt16 { UInt16(value & 0x3ff) }

    /// The 13-character string form.
    public var string: String {
        String(unsafeUninitializedCapacity: TID.length) { buffer in
            var v = value
            for i in stride(from: TID.length - 1, through: 0, by: -1) {
                buffer[i] = TID.alphabet[Int(v & 31)]
                v >>= 5
            }
            return TID.length
        }
    }

    public static func < (lhs: TID, rhs: TID) -> Bool { lhs.value < rhs.value }

    /// The value of one base32-sortable character, or `nil`.
    @inline(__always) static func digit(_ c: UInt8) -> UInt64? {
        if c >= 0x32 && c <= 0x37 { return UInt64(c - 0x32) }  // 2–7 → 0–5
        if ASCII.isLower(c) { return UInt64(c - 0x61 + 6) }  // a–z → 6–31
        return nil
    }

    /// The value of a TID string, or `nil` if it is not one.
    static func decode(_ b: UnsafeBufferPointer<UInt8>) -> UInt64? {
        guard b.count == length else { return nil }
        var value: UInt64 = 0
        for (i, c) in b.enumerated() {
            guard let d = digit(c) else { return nil }
            if i == 0 && d > 15 { return nil }
            value = value << 5 | d
        }
        return value
    }

    /// Why `string` is not a TID (called only for strings that are not).
    static func problem(_ string: String) -> String {
        let b = Array(string.utf8)
        if b.count != length { return "a TID is exactly \(length) characters long" }
        if b.contains(where: { digit($0) == nil }) {
            if b.contains(where: ASCII.isUpper) { return "a TID is lower case" }
            return "a TID may only contain the characters 234567abcdefghijklmnopqrstuvwxyz"
        }
        return "the first character of a TID must be one of 234567abcdefghij"
    }
}
