/// The lenient syntax check of the Lexicon `cid` string format.
///
/// It only checks that a string looks like a multibase-encoded CID: 8–256
/// characters of ASCII letters, digits, `+` and `=`, and not a CIDv0
/// (`Qm…`, which atproto does not support). It does not decode anything;
/// `CID(string:)` is the strict parser for the base32 CIDv1 strings atproto
/// itself writes.
public enum CIDSyntax {
    /// The minimum length of a CID string.
    public static let minLength = 8
    /// The maximum length of a CID string.
    public static let maxLength = 256

    /// Whether `string` has the syntax of a CID.
    public static func isValid(_ string: String) -> Bool {
        string.withUTF8Bytes(problem) == nil
    }

    /// Checks `string`, throwing a `SyntaxError` that says why it is not a
    /// CID string.
    public static func validate(_ string: String) throws(SyntaxError) {
        if let reason = string.withUTF8Bytes(problem) {
            throw SyntaxError(kind: .cid, value: string, reason: reason)
        }
    }

    /// Why `b` is not a CID string, or `nil` if it is one.
    static func problem(_ b: UnsafeBufferPointer<UInt8>) -> String? {
        if b.count < minLength { return "a CID is at least \(minLength) characters long" }
        if b.count > maxLength { return "a CID is at most \(maxLength) characters long" }
        if !b.allSatisfy({ ASCII.isAlnum($0) || $0 == ASCII.plus || $0 == ASCII.equals }) {
            return "a CID may only contain ASCII letters, digits, '+' and '='"
        }
        if ASCII.hasPrefix(b, "Qm") { return "CIDv0 ('Qm…') is not supported; use a CIDv1" }
        return nil
    }
}
