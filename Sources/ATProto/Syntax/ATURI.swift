/// An AT URI in the restricted form that atproto uses to name repositories,
/// collections and records (the Lexicon `at-uri` format):
///
/// ```
/// at://<authority>[/<collection>[/<record key>]]
/// ```
///
/// - the authority is a DID or a handle;
/// - the collection, if present, is an NSID;
/// - the record key, if present, is a valid record key;
/// - no query, no fragment, no trailing slash, no empty segments;
/// - at most 8 KiB (8192 characters).
///
/// Equality compares the string as given.
public struct ATURI: SyntaxCheckedString {
    /// The maximum length of an AT URI, in characters.
    public static let maxLength = 8192

    /// The URI exactly as given.
    public let string: String
    /// The repository: a DID or a handle.
    public let authority: ATIdentifier
    /// The collection, if the URI has one.
    public let collection: NSID?
    /// The record key, if the URI has one (only after a collection).
    public let recordKey: RecordKey?

    /// Parses an AT URI.
    public init(_ string: String) throws(SyntaxError) {
        switch string.withUTF8Bytes(ATURI.scan) {
        case .invalid(let reason):
            throw SyntaxError(kind: .atURI, value: string, reason: reason)
        case .valid(let parts):
            func part(_ range: Range<Int>) -> String {
                String(Substring(string.utf8.dropFirst(range.lowerBound).prefix(range.count)))
            }
            let authority = part(parts.authority)
            self.string = string
            self.authority =
                parts.authorityIsDID
                ? .did(DID(unchecked: authority)) : .handle(Handle(unchecked: authority))
            self.collection = parts.collection.map { NSID(unchecked: part($0)) }
            self.recordKey = parts.recordKey.map { RecordKey(unchecked: part($0)) }
        }
    }

    /// Builds an AT URI from its parts.
    /// - Precondition: a record key needs a collection.
    public init(authority: ATIdentifier, collection: NSID? = nil, recordKey: RecordKey? = nil) {
        precondition(recordKey == nil || collection != nil, "an AT URI with a record key needs a collection")
        var string = "at://" + authority.string
        if let collection { string += "/" + collection.string }
        if let recordKey { string += "/" + recordKey.string }
        self.string = string
        self.authority = authority
        self.collection = collection
        self.recordKey = recordKey
    }

    /// Whether `string` is a valid AT URI in the restricted form.
    public static func isValid(_ string: String) -> Bool {
        if case .valid = string.withUTF8Bytes(scan) { return true }
        return false
    }

    public static func == (lhs: ATURI, rhs: ATURI) -> Bool { lhs.string == rhs.string }

    public func hash(into hasher: inout Hasher) { hasher.combine(string) }

    /// Byte ranges of the parts of a valid AT URI.
    struct Parts {
        var authority: Range<Int>
        var authorityIsDID: Bool
        var collection: Range<Int>?
        var recordKey: Range<Int>?
    }

    enum Scan {
        case valid(Parts)
        case invalid(String)
    }

    /// Checks an AT URI and finds its parts.
    static func scan(_ b: UnsafeBufferPointer<UInt8>) -> Scan {
        if b.count > maxLength { return .invalid("an AT URI is at most \(maxLength) characters long") }
        guard ASCII.hasPrefix(b, "at://") else {
            return .invalid("an AT URI must start with 'at://' (in lower case)")
        }
        if b.contains(where: { $0 == 0x23 || $0 == 0x3F }) {  // # ?
            return .invalid("an AT URI can't have a query ('?') or a fragment ('#') here")
        }
        let authorityEnd = b.index(of: ASCII.slash, from: 5)
        let authority = b.slice(5..<authorityEnd)
        if authority.isEmpty { return .invalid("the authority (a DID or handle) can't be empty") }
        let isDID = ASCII.hasPrefix(authority, "did:")
        if isDID {
            if let reason = DID.problem(authority) {
                return .invalid("the authority is not a valid DID (\(reason))")
            }
        } else if let reason = Handle.problem(authority) {
            return .invalid("the authority is neither a DID nor a valid handle (\(reason))")
        }
        var parts = Parts(authority: 5..<authorityEnd, authorityIsDID: isDID)
        if authorityEnd == b.count { return .valid(parts) }

        let collectionStart = authorityEnd + 1
        let collectionEnd = b.index(of: ASCII.slash, from: collectionStart)
        if collectionEnd == collectionStart {
            return .invalid("an AT URI can't end with a slash or have an empty path segment")
        }
        if let reason = NSID.problem(b.slice(collectionStart..<collectionEnd)) {
            return .invalid("the collection is not a valid NSID (\(reason))")
        }
        parts.collection = collectionStart..<collectionEnd
        if collectionEnd == b.count { return .valid(parts) }

        let keyStart = collectionEnd + 1
        let keyEnd = b.index(of: ASCII.slash, from: keyStart)
        if keyEnd == keyStart {
            return .invalid("an AT URI can't end with a slash or have an empty path segment")
        }
        if keyEnd != b.count {
            return .invalid("an AT URI has at most two path segments: a collection and a record key")
        }
        if let reason = RecordKey.problem(b.slice(keyStart..<keyEnd)) {
            return .invalid("the record key is not valid (\(reason))")
        }
        parts.recordKey = keyStart..<keyEnd
        return .valid(parts)
    }
}
