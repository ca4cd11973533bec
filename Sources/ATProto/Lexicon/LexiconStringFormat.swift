/// The string formats a Lexicon `string` definition may require (`format`).
///
/// Each is checked with the matching identifier type of this module: DIDs
/// with ``DID``, handles with ``Handle``, `at-identifier` with
/// ``ATIdentifier``, `at-uri` with ``ATURI``, `cid` with ``CIDSyntax``,
/// `datetime` with ``ATDatetime``, `language` with ``LanguageTag``, `nsid`
/// with ``NSID``, `tid` with ``TID``, `record-key` with ``RecordKey`` and
/// `uri` with ``URIString``.
public enum LexiconStringFormat: String, Hashable, Sendable, CaseIterable {
    case atIdentifier = "at-identifier"
    case atURI = "at-uri"
    case cid
    case datetime
    case did
    case handle
    case nsid
    case tid
    case recordKey = "record-key"
    case uri
    case language

    /// The reason `string` does not have this format, or `nil` if it does.
    /// The valid case allocates nothing beyond what the parser needs.
    public func problem(with string: String) -> String? {
        do throws(SyntaxError) {
            switch self {
            case .atIdentifier: if ATIdentifier.isValid(string) { return nil } else { _ = try ATIdentifier(string) }
            case .atURI: if ATURI.isValid(string) { return nil } else { _ = try ATURI(string) }
            case .cid: try CIDSyntax.validate(string)
            case .datetime: if ATDatetime.isValid(string) { return nil } else { _ = try ATDatetime(string) }
            case .did: if DID.isValid(string) { return nil } else { _ = try DID(string) }
            case .handle: if Handle.isValid(string) { return nil } else { _ = try Handle(string) }
            case .nsid: if NSID.isValid(string) { return nil } else { _ = try NSID(string) }
            case .tid: if TID.isValid(string) { return nil } else { _ = try TID(string) }
            case .recordKey: if RecordKey.isValid(string) { return nil } else { _ = try RecordKey(string) }
            case .uri: if URIString.isValid(string) { return nil } else { _ = try URIString(string) }
            case .language: if LanguageTag.isValid(string) { return nil } else { _ = try LanguageTag(string) }
            }
            return nil
        } catch {
            return error.reason
        }
    }

    /// How an error message names a value of this format: "a valid datetime".
    public var expectation: String {
        switch self {
        case .atIdentifier: return "a valid DID or handle"
        case .atURI: return "a valid at-uri"
        case .cid: return "a CID string"
        case .datetime: return "a valid datetime"
        case .did: return "a valid DID"
        case .handle: return "a valid handle"
        case .nsid: return "a valid NSID"
        case .tid: return "a valid TID"
        case .recordKey: return "a valid record key"
        case .uri: return "a URI"
        case .language: return "a well-formed BCP 47 language tag"
        }
    }
}
