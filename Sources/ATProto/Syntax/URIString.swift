/// A URI in the Lexicon `uri` string format: any scheme, loosely checked.
///
/// Syntax (lenient, as atproto checks it):
/// - a scheme as in RFC 3986: a letter, then letters, digits, `+`, `-`, `.`;
/// - a `:`, then at least one character that is not `/` (so `http:` and
///   `http://` are rejected, `dns:example.com` and `at://…` accepted);
/// - no whitespace and no control characters anywhere (non-ASCII
///   characters are otherwise allowed);
/// - at most 8 KiB (8192 bytes of UTF-8).
///
/// This is not a full RFC 3986 parser: it accepts what the Lexicon format
/// allows and rejects what is clearly not a URI.
public struct URIString: ScannedSyntax {
    public static let syntaxKind = SyntaxError.Kind.uri

    /// The maximum length of a URI, in bytes of UTF-8.
    public static let maxLength = 8192

    /// The URI exactly as given.
    public let string: String

    /// A value from a string known to be valid (checked by ``problem(_:)``
    /// before, as when read back from this server's own storage).
    public init(unchecked string: String) {
        self.string = string
    }

    /// The scheme in lower case, e.g. `https`.
    public var scheme: String {
        String(string.prefix { $0 != ":" }).lowercased()
    }

    /// Why `b` is not a URI, or `nil` if it is one.
    public static func problem(_ b: UnsafeBufferPointer<UInt8>) -> String? {
        if b.isEmpty { return "a URI can't be empty" }
        if b.count > maxLength { return "a URI is at most \(maxLength) bytes long" }
        guard ASCII.isLetter(b[0]) else {
            return "a URI must start with a scheme such as 'https:' (beginning with a letter)"
        }
        var i = 1
        while i < b.count,
            ASCII.isAlnum(b[i]) || b[i] == ASCII.plus || b[i] == ASCII.hyphen || b[i] == ASCII.dot
        {
            i += 1
        }
        guard i < b.count, b[i] == ASCII.colon else {
            return "a URI must start with a scheme followed by ':', such as 'https:'"
        }
        let rest = b.slice(i + 1..<b.count)
        if !rest.contains(where: { $0 != ASCII.slash }) {
            return "a URI needs something after the scheme"
        }
        if let problem = whitespaceProblem(rest) { return problem }
        return nil
    }

    /// Rejects ASCII and Unicode whitespace and control characters.
    static func whitespaceProblem(_ b: UnsafeBufferPointer<UInt8>) -> String? {
        let message = "a URI can't contain spaces, other whitespace or control characters"
        var hasNonASCII = false
        for c in b {
            if c <= 0x20 || c == 0x7F { return message }
            if c >= 0x80 { hasNonASCII = true }
        }
        if hasNonASCII {
            for scalar in String(decoding: b, as: UTF8.self).unicodeScalars
            where scalar.properties.isWhitespace || scalar.properties.generalCategory == .control {
                return message
            }
        }
        return nil
    }
}
