/// A Namespaced Identifier, naming a Lexicon schema: a reversed domain name
/// (the authority) followed by a name, e.g. `app.bsky.feed.post`.
///
/// Syntax (the atproto NSID spec):
/// - at least three segments separated by dots, ASCII only;
/// - authority segments (all but the last): letters, digits and hyphens,
///   1–63 characters, not starting or ending with a hyphen; the first segment
///   (the top-level domain) does not start with a digit;
/// - the name (the last segment): letters and digits, 1–63 characters, not
///   starting with a digit;
/// - at most 317 characters in all.
///
/// The spec also caps the authority at 253 characters (a domain name's
/// limit), but the interop vectors accept a 287-character NSID whose
/// authority is 283 characters, so that cap is not enforced here.
///
/// The authority is case-insensitive and `normalized` lower-cases it; the
/// name is case-sensitive. Equality compares the string as given.
public struct NSID: ScannedSyntax {
    public static let syntaxKind = SyntaxError.Kind.nsid

    /// The maximum length of an NSID, in characters.
    public static let maxLength = 317
    /// The maximum length of one segment, in characters.
    public static let maxSegmentLength = 63

    /// The NSID exactly as given.
    public let string: String

    /// A value from a string known to be valid (checked by ``problem(_:)``
    /// before, as when read back from this server's own storage).
    public init(unchecked string: String) {
        self.string = string
    }

    private var lastDot: String.Index { string.lastIndex(of: ".")! }

    /// The authority as written, in reversed-domain order: `app.bsky.feed`
    /// for `app.bsky.feed.post`.
    public var authority: String { String(string[..<lastDot]) }

    /// The name: `post` for `app.bsky.feed.post`.
    public var name: String { String(string[string.index(after: lastDot)...]) }

    /// The authority as a domain name in lower case: `feed.bsky.app` for
    /// `app.bsky.feed.post`. This is where the schema is published (as a
    /// `_lexicon` TXT record).
    public var domainAuthority: String {
        authority.lowercased().split(separator: ".").reversed().joined(separator: ".")
    }

    /// The NSID with the authority in lower case and the name unchanged.
    public var normalized: NSID { NSID(unchecked: authority.lowercased() + "." + name) }

    /// Why `b` is not an NSID, or `nil` if it is one.
    public static func problem(_ b: UnsafeBufferPointer<UInt8>) -> String? {
        if b.isEmpty { return "an NSID can't be empty" }
        if b.count > maxLength { return "an NSID is at most \(maxLength) characters long" }
        return DottedLabels.problem(
            b, of: "an NSID", labelName: "segment", maxLabelLength: maxSegmentLength,
            badCharacter: "an NSID may only contain ASCII letters, digits, hyphens and dots"
        ) { segment, index, isLast in
            let first = b[segment.lowerBound]
            if isLast {
                // The name segment.
                if index < 2 { return "an NSID needs at least three segments, as in 'com.example.record'" }
                if b[segment].contains(ASCII.hyphen) {
                    return "the name (last segment) of an NSID may only contain letters and digits"
                }
                if ASCII.isDigit(first) { return "the name (last segment) of an NSID can't start with a digit" }
            } else {
                if first == ASCII.hyphen || b[segment.upperBound - 1] == ASCII.hyphen {
                    return "a segment of an NSID can't start or end with a hyphen"
                }
                if index == 0 && ASCII.isDigit(first) {
                    return "the first segment of an NSID (the top-level domain) can't start with a digit"
                }
            }
            return nil
        }
    }
}
