/// A BCP 47 language tag (the Lexicon `language` format), e.g. `en`,
/// `pt-BR`, `zh-Hant`, `de-CH-1901`.
///
/// Syntax (lenient, as atproto checks it):
/// - subtags of 1–8 ASCII letters or digits, separated by single hyphens;
/// - the first subtag is a language code of two or three lower-case letters,
///   or `i` (the irregular grandfathered tags such as `i-default`), or `x` /
///   `X` (a private-use tag such as `x-whatever`); `i` and `x` need at least
///   one more subtag.
///
/// `init(_:)` also checks RFC 5646 validity that the syntax check leaves out
/// (`isValidSyntax` does not): no variant subtag and no extension singleton
/// may appear twice, compared case-insensitively (`de-DE-1901-1901` and
/// `en-a-foo-A-bar` are rejected). Subtags after the private-use `x` are
/// not checked.
///
/// Equality compares the string as given (tags are case-insensitive, but
/// this type does not normalise case).
public struct LanguageTag: ScannedSyntax {
    public static let syntaxKind = SyntaxError.Kind.languageTag

    /// The maximum length of one subtag.
    public static let maxSubtagLength = 8

    /// The tag exactly as given.
    public let string: String

    /// A value from a string known to be valid (checked by ``problem(_:)``
    /// before, as when read back from this server's own storage).
    public init(unchecked string: String) {
        self.string = string
    }

    /// Whether `string` has the lenient syntax of a language tag, without
    /// the no-repeats check.
    public static func isValidSyntax(_ string: String) -> Bool {
        string.withUTF8Bytes(syntaxProblem) == nil
    }

    /// The subtags, e.g. `["pt", "BR"]`.
    public var subtags: [String] {
        string.split(separator: "-", omittingEmptySubsequences: false).map(String.init)
    }

    /// The primary language subtag in lower case: `pt` for `pt-BR`; `i` or
    /// `x` for grandfathered irregular and private-use tags.
    public var language: String {
        String(string.prefix { $0 != "-" }).lowercased()
    }

    /// Whether the whole tag is private use (`x-…`).
    public var isPrivateUse: Bool { language == "x" }

    /// The subtag ranges of `b`, or why it is not well formed.
    static func syntaxProblem(_ b: UnsafeBufferPointer<UInt8>) -> String? {
        if b.isEmpty { return "a language tag can't be empty" }
        var start = 0
        var index = 0
        for i in 0...b.count {
            if i < b.count && b[i] != ASCII.hyphen {
                guard ASCII.isAlnum(b[i]) else {
                    return "a language tag may only contain ASCII letters, digits and hyphens"
                }
                continue
            }
            let length = i - start
            if length == 0 {
                return "a language tag can't start or end with a hyphen or have two hyphens in a row"
            }
            if length > maxSubtagLength {
                return "each part of a language tag is at most \(maxSubtagLength) characters long"
            }
            if index == 0 {
                let first = b.slice(start..<i)
                if length == 1 {
                    let c = first[0]
                    guard c == 0x69 || c == 0x78 || c == 0x58 else {  // i x X
                        return "a language tag must start with a two- or three-letter language code"
                    }
                    if i == b.count {
                        return "'\(Character(Unicode.Scalar(c)))' must be followed by more of the tag"
                    }
                } else if length > 3 || !first.allSatisfy(ASCII.isLower) {
                    return "a language tag must start with a two- or three-letter language code in lower case"
                }
            }
            index += 1
            start = i + 1
        }
        return nil
    }

    /// Why `b` is not a valid language tag, or `nil` if it is one.
    public static func problem(_ b: UnsafeBufferPointer<UInt8>) -> String? {
        if let reason = syntaxProblem(b) { return reason }
        // Walk the subtags after the first one: before any extension,
        // 5–8 character subtags and 4-character ones starting with a digit
        // are variants; a one-character subtag starts an extension, and `x`
        // starts private use, which ends the checks.
        if b[0] == 0x78 || b[0] == 0x58 { return nil }  // private-use tag
        var variants: [UInt64] = []
        var singletons: UInt64 = 0  // bit per letter/digit
        var inExtension = false
        var start = b.index(of: ASCII.hyphen) + 1
        while start < b.count {
            let end = b.index(of: ASCII.hyphen, from: start)
            let subtag = b.slice(start..<end)
            start = end + 1
            if subtag.count == 1 {
                let c = ASCII.lowercased(subtag[0])
                if c == 0x78 { return nil }  // x: private use follows
                let bit: UInt64 = 1 << (ASCII.isDigit(c) ? UInt64(c - 0x30) : UInt64(c - 0x61 + 10))
                if singletons & bit != 0 {
                    return "the extension '\(Character(Unicode.Scalar(c)))' appears more than once"
                }
                singletons |= bit
                inExtension = true
            } else if !inExtension
                && (subtag.count >= 5 || (subtag.count == 4 && ASCII.isDigit(subtag[0])))
            {
                // Pack the variant (at most 8 characters) into one number.
                var key: UInt64 = 0
                for c in subtag { key = key << 8 | UInt64(ASCII.lowercased(c)) }
                if variants.contains(key) {
                    return "the variant '\(String(decoding: subtag, as: UTF8.self))' appears more than once"
                }
                variants.append(key)
            }
        }
        return nil
    }
}
