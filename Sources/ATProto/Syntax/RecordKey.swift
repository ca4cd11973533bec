/// A record key: the last part of a record's path in a repository
/// (`app.bsky.feed.post/<rkey>`).
///
/// Syntax (the atproto record-key spec): 1–512 characters from the ASCII
/// letters, digits and `_ ~ . : -`, and not `.` or `..`. Record keys are
/// case-sensitive. A collection's Lexicon may narrow this further (`tid`,
/// `nsid`, `literal:self`, …); that is checked elsewhere.
public struct RecordKey: ScannedSyntax {
    public static let syntaxKind = SyntaxError.Kind.recordKey

    /// The maximum length of a record key, in characters.
    public static let maxLength = 512

    /// The record key exactly as given.
    public let string: String

    /// A value from a string known to be valid (checked by ``problem(_:)``
    /// before, as when read back from this server's own storage).
    public init(unchecked string: String) {
        self.string = string
    }

    /// A record key made from a TID, which is always valid.
    public init(_ tid: TID) {
        self.string = tid.string
    }

    /// Whether `c` may appear in a record key.
    @inline(__always) static func isAllowed(_ c: UInt8) -> Bool {
        ASCII.isAlnum(c) || c == ASCII.underscore || c == ASCII.tilde || c == ASCII.dot
            || c == ASCII.colon || c == ASCII.hyphen
    }

    /// Why `b` is not a record key, or `nil` if it is one.
    public static func problem(_ b: UnsafeBufferPointer<UInt8>) -> String? {
        if b.isEmpty { return "a record key can't be empty" }
        if b.count > maxLength { return "a record key is at most \(maxLength) characters long" }
        if !b.allSatisfy(isAllowed) {
            return "a record key may only contain ASCII letters, digits and _ ~ . : -"
        }
        if b.count <= 2 && b.allSatisfy({ $0 == ASCII.dot }) {
            return "a record key can't be '.' or '..'"
        }
        return nil
    }
}
