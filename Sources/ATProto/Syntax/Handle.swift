/// An atproto handle: a DNS host name such as `alice.bsky.social`.
///
/// Syntax (the atproto handle spec, i.e. modern DNS host-name rules):
/// - ASCII letters, digits, hyphens and dots only (internationalised names
///   are written in punycode, `xn--…`);
/// - at least two labels separated by dots, no empty labels;
/// - each label 1–63 characters, not starting or ending with a hyphen;
/// - the last label (the top-level domain) does not start with a digit, which
///   also rules out IPv4 addresses;
/// - at most 253 characters in all.
///
/// Handles are case-insensitive: equality and hashing ignore ASCII case, and
/// `normalized` gives the lower-case form to store and compare. Top-level
/// domains that atproto does not allow for real accounts (`.local`, `.onion`,
/// …) are syntactically valid; `isDisallowedTLD` and `isReserved` let policy
/// code reject them.
public struct Handle: ScannedSyntax {
    public static let syntaxKind = SyntaxError.Kind.handle

    /// The maximum length of a handle, in characters.
    public static let maxLength = 253
    /// The maximum length of one label, in characters.
    public static let maxLabelLength = 63

    /// The special handle shown for an account whose handle does not verify.
    public static let invalidHandleMarker = "handle.invalid"

    /// Top-level domains the atproto handle spec disallows for accounts,
    /// although they are syntactically fine.
    public static let disallowedTLDs: Set<String> = [
        "alt", "arpa", "example", "internal", "invalid", "local", "localhost", "onion",
    ]

    /// Special-use and reserved top-level domains (RFC 2606, RFC 6761,
    /// RFC 6762, RFC 7686, RFC 9476 and ICANN's `.internal`): the disallowed
    /// TLDs plus `.test`, which atproto allows for development only.
    public static let reservedTLDs: Set<String> = disallowedTLDs.union(["test"])

    /// The handle exactly as given (case preserved).
    public let string: String

    /// A value from a string known to be valid (checked by ``problem(_:)``
    /// before, as when read back from this server's own storage).
    public init(unchecked string: String) {
        self.string = string
    }

    /// The handle in lower case, the form to store, compare and resolve.
    public var normalized: Handle { Handle(unchecked: string.lowercased()) }

    /// The labels, e.g. `["alice", "bsky", "social"]`.
    public var labels: [String] {
        string.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
    }

    /// The top-level domain in lower case, e.g. `social`.
    public var tld: String {
        let lastDot = string.lastIndex(of: ".") ?? string.startIndex
        return string[lastDot...].dropFirst().lowercased()
    }

    /// Whether the top-level domain is one the atproto spec disallows for
    /// accounts (`.alt`, `.arpa`, `.example`, `.internal`, `.invalid`,
    /// `.local`, `.localhost`, `.onion`).
    public var isDisallowedTLD: Bool { Handle.disallowedTLDs.contains(tld) }

    /// Whether the top-level domain is special-use or reserved: a disallowed
    /// TLD or `.test`. A production PDS should not register such handles.
    public var isReserved: Bool { Handle.reservedTLDs.contains(tld) }

    /// Whether this is the `handle.invalid` marker (in any case).
    public var isInvalidHandleMarker: Bool {
        string.utf8.count == Handle.invalidHandleMarker.utf8.count
            && string.lowercased() == Handle.invalidHandleMarker
    }

    /// Handles are equal when they are equal ignoring ASCII case.
    public static func == (lhs: Handle, rhs: Handle) -> Bool {
        lhs.string.withUTF8Bytes { a in
            rhs.string.withUTF8Bytes { b in
                guard a.count == b.count else { return false }
                for i in 0..<a.count where ASCII.lowercased(a[i]) != ASCII.lowercased(b[i]) {
                    return false
                }
                return true
            }
        }
    }

    public func hash(into hasher: inout Hasher) {
        string.withUTF8Bytes { b in
            for c in b { hasher.combine(ASCII.lowercased(c)) }
            hasher.combine(b.count)
        }
    }

    /// Why `b` is not a handle, or `nil` if it is one.
    public static func problem(_ b: UnsafeBufferPointer<UInt8>) -> String? {
        if b.isEmpty { return "a handle can't be empty" }
        if b.count > maxLength { return "a handle is at most \(maxLength) characters long" }
        return DottedLabels.problem(
            b, of: "a handle", labelName: "label", maxLabelLength: maxLabelLength,
            badCharacter: "a handle may only contain ASCII letters, digits, hyphens and dots (use punycode for international names)"
        ) { label, index, isLast in
            if b[label.lowerBound] == ASCII.hyphen || b[label.upperBound - 1] == ASCII.hyphen {
                return "a label of a handle can't start or end with a hyphen"
            }
            guard isLast else { return nil }
            if index < 1 { return "a handle needs at least two labels separated by dots" }
            if ASCII.isDigit(b[label.lowerBound]) {
                return "the last label of a handle (the top-level domain) can't start with a digit"
            }
            return nil
        }
    }
}
