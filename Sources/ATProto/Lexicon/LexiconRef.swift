/// A reference from one Lexicon definition to another, as written in a `ref`
/// definition or a union's `refs`:
///
/// - `#name`: the definition `name` in the same document;
/// - `nsid#name`: the definition `name` in document `nsid`;
/// - `nsid`: the `main` definition of document `nsid`.
public struct LexiconRef: Hashable, Sendable, CustomStringConvertible {
    /// The reference exactly as written.
    public let string: String
    /// The document referred to; `nil` for a local `#name` reference.
    public let nsid: NSID?
    /// The definition referred to: the part after `#`, or `main`.
    public let name: String

    /// Parses a reference; `nil` when it is none of the three forms (an
    /// invalid NSID, an empty name, or more than one `#`).
    public init?(_ string: String) {
        let parts = string.split(separator: "#", maxSplits: 2, omittingEmptySubsequences: false)
        switch parts.count {
        case 1:
            guard let nsid = try? NSID(string) else { return nil }
            self.nsid = nsid
            self.name = "main"
        case 2:
            guard !parts[1].isEmpty else { return nil }
            if parts[0].isEmpty {
                self.nsid = nil
            } else {
                guard let nsid = try? NSID(String(parts[0])) else { return nil }
                self.nsid = nsid
            }
            self.name = String(parts[1])
        default:
            return nil
        }
        self.string = string
    }

    /// Whether this is a local `#name` reference.
    public var isLocal: Bool { nsid == nil }

    /// The full name `nsid#name` of the definition, reading a local
    /// reference as one into `document`.
    public func fullName(in document: NSID) -> String {
        LexiconRef.fullName(nsid: (nsid ?? document).string, name: name)
    }

    /// The full name of definition `name` in document `nsid`: `nsid#name`.
    public static func fullName(nsid: String, name: String) -> String {
        nsid + "#" + name
    }

    /// The shortest way to write a full name: `nsid` for a `main`
    /// definition, `nsid#name` otherwise. This is how `$type` names a type.
    public static func typeName(nsid: String, name: String) -> String {
        name == "main" ? nsid : nsid + "#" + name
    }

    public var description: String { string }
}
