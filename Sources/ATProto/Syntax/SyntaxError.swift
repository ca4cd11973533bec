import Foundation

/// The error thrown when a string is not a valid atproto identifier or
/// Lexicon string format.
///
/// It names the kind of value that was expected, the offending value (cut to
/// a length fit for a log line or an API error message) and the reason in
/// plain words:
///
/// ```
/// invalid handle 'foo': a handle needs at least two labels separated by dots
/// ```
public struct SyntaxError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The kind of value that failed to parse.
    public enum Kind: String, Hashable, Sendable, CaseIterable {
        case did = "DID"
        case handle = "handle"
        case nsid = "NSID"
        case recordKey = "record key"
        case atURI = "AT URI"
        case datetime = "datetime"
        case languageTag = "language tag"
        case tid = "TID"
        case atIdentifier = "AT identifier"
        case uri = "URI"
        case cid = "CID"
    }

    /// The most characters of the offending value that are kept for display.
    public static let maxDisplayedValueLength = 64

    /// The kind of value that failed to parse.
    public let kind: Kind
    /// The offending value, shortened to `maxDisplayedValueLength` characters
    /// (with `…` and the full length appended) and with control characters
    /// escaped, so it is safe to print.
    public let value: String
    /// Why the value was rejected, e.g. "a handle needs at least two labels
    /// separated by dots".
    public let reason: String

    /// Creates an error; `value` is shortened and escaped for display.
    public init(kind: Kind, value: String, reason: String) {
        self.kind = kind
        self.value = SyntaxError.displayForm(of: value)
        self.reason = reason
    }

    /// The full message: `invalid <kind> '<value>': <reason>`.
    public var message: String { "invalid \(kind.rawValue) '\(value)': \(reason)" }

    public var description: String { message }

    /// Shortens a value and escapes control characters.
    static func displayForm(of value: String) -> String {
        var out = ""
        var count = 0
        var truncated = false
        for scalar in value.unicodeScalars {
            if count == maxDisplayedValueLength {
                truncated = true
                break
            }
            if scalar.value < 0x20 || scalar.value == 0x7f {
                out += scalar.escaped(asASCII: true)
            } else {
                out.unicodeScalars.append(scalar)
            }
            count += 1
        }
        if truncated {
            out += "… (\(value.unicodeScalars.count) characters)"
        }
        return out
    }
}

extension SyntaxError: LocalizedError {
    public var errorDescription: String? { message }
}
