/// One definition of a Lexicon document: an entry of its `defs`, or a field
/// type nested inside one (an object property, array items, a method's
/// parameters or body schema).
///
/// The kind of definition and its constraints are in ``type``; every kind
/// may carry a human-readable ``description``.
public struct LexiconDefinition: Hashable, Sendable {
    /// The definition's `description`, if it has one.
    public var description: String?
    /// What kind of definition this is, with its constraints.
    public var type: LexiconType

    /// A definition of the given type.
    public init(_ type: LexiconType, description: String? = nil) {
        self.type = type
        self.description = description
    }
}

/// The kind of a ``LexiconDefinition`` (its `type` field) and the
/// constraints that come with it, following the atproto Lexicon spec.
///
/// - Field types describe data: `null`, `boolean`, `integer`, `string`,
///   `bytes`, `cid-link`, `blob`, `array`, `object`, `ref`, `union`,
///   `unknown`.
/// - `params` describes the query-string parameters of an XRPC method.
/// - `token` is a named value with no data of its own.
/// - The primary types `record`, `query`, `procedure`, `subscription` and
///   `permission-set` may only be defined under the name `main`.
public indirect enum LexiconType: Hashable, Sendable {
    /// `null`: the value must be null.
    case null
    /// `boolean`: true or false.
    case boolean(LexiconBoolean)
    /// `integer`: a signed 64-bit integer.
    case integer(LexiconInteger)
    /// `string`: a Unicode string, optionally of a given format.
    case string(LexiconString)
    /// `bytes`: a byte string.
    case bytes(LexiconBytes)
    /// `cid-link`: a CID link.
    case cidLink
    /// `blob`: a blob reference.
    case blob(LexiconBlob)
    /// `array`: a list of elements of one schema.
    case array(LexiconArray)
    /// `object`: a map with named properties.
    case object(LexiconObject)
    /// `params`: the query-string parameters of an XRPC method.
    case params(LexiconParams)
    /// `token`: a named value with no data, used in `knownValues`.
    case token
    /// `ref`: the definition another one names.
    case ref(LexiconRef)
    /// `union`: an object that is one of several definitions, by `$type`.
    case union(LexiconUnion)
    /// `unknown`: any object.
    case unknown
    /// `record`: the schema of a collection's records.
    case record(LexiconRecord)
    /// `query`: an XRPC method called with GET.
    case query(LexiconQuery)
    /// `procedure`: an XRPC method called with POST.
    case procedure(LexiconProcedure)
    /// `subscription`: an XRPC event stream.
    case subscription(LexiconSubscription)
    /// `permission-set`: a bundle of OAuth permissions.
    case permissionSet(LexiconPermissionSet)

    /// The `type` name as written in Lexicon JSON, e.g. `cid-link`.
    public var name: String {
        switch self {
        case .null: return "null"
        case .boolean: return "boolean"
        case .integer: return "integer"
        case .string: return "string"
        case .bytes: return "bytes"
        case .cidLink: return "cid-link"
        case .blob: return "blob"
        case .array: return "array"
        case .object: return "object"
        case .params: return "params"
        case .token: return "token"
        case .ref: return "ref"
        case .union: return "union"
        case .unknown: return "unknown"
        case .record: return "record"
        case .query: return "query"
        case .procedure: return "procedure"
        case .subscription: return "subscription"
        case .permissionSet: return "permission-set"
        }
    }

    /// Whether this is a primary type (`record`, `query`, `procedure`,
    /// `subscription`, `permission-set`), which only `main` may define.
    public var isPrimary: Bool {
        switch self {
        case .record, .query, .procedure, .subscription, .permissionSet: return true
        default: return false
        }
    }
}

/// The constraints of a `boolean` definition.
public struct LexiconBoolean: Hashable, Sendable {
    /// The only value allowed (`const`).
    public var constValue: Bool?
    /// The value assumed when the field is absent (`default`).
    public var defaultValue: Bool?

    /// A boolean definition.
    public init(constValue: Bool? = nil, defaultValue: Bool? = nil) {
        self.constValue = constValue
        self.defaultValue = defaultValue
    }
}

/// The constraints of an `integer` definition.
public struct LexiconInteger: Hashable, Sendable {
    /// The smallest value allowed (`minimum`).
    public var minimum: Int64?
    /// The largest value allowed (`maximum`).
    public var maximum: Int64?
    /// The closed set of values allowed (`enum`).
    public var enumValues: [Int64]?
    /// The only value allowed (`const`).
    public var constValue: Int64?
    /// The value assumed when the field is absent (`default`).
    public var defaultValue: Int64?

    /// An integer definition.
    public init(
        minimum: Int64? = nil, maximum: Int64? = nil, enumValues: [Int64]? = nil,
        constValue: Int64? = nil, defaultValue: Int64? = nil
    ) {
        self.minimum = minimum
        self.maximum = maximum
        self.enumValues = enumValues
        self.constValue = constValue
        self.defaultValue = defaultValue
    }
}

/// The constraints of a `string` definition.
///
/// `minLength` / `maxLength` count bytes of UTF-8, `minGraphemes` /
/// `maxGraphemes` count user-perceived characters (extended grapheme
/// clusters). `knownValues` is an open list (documentation only); `enum` is a
/// closed one.
public struct LexiconString: Hashable, Sendable {
    /// The string format the value must have (`format`).
    public var format: LexiconStringFormat?
    /// The fewest UTF-8 bytes allowed (`minLength`).
    public var minLength: Int?
    /// The most UTF-8 bytes allowed (`maxLength`).
    public var maxLength: Int?
    /// The fewest graphemes allowed (`minGraphemes`).
    public var minGraphemes: Int?
    /// The most graphemes allowed (`maxGraphemes`).
    public var maxGraphemes: Int?
    /// The closed set of values allowed (`enum`).
    public var enumValues: [String]?
    /// The only value allowed (`const`).
    public var constValue: String?
    /// Suggested values; others are allowed too (`knownValues`).
    public var knownValues: [String]?
    /// The value assumed when the field is absent (`default`).
    public var defaultValue: String?

    /// A string definition.
    public init(
        format: LexiconStringFormat? = nil, minLength: Int? = nil, maxLength: Int? = nil,
        minGraphemes: Int? = nil, maxGraphemes: Int? = nil, enumValues: [String]? = nil,
        constValue: String? = nil, knownValues: [String]? = nil, defaultValue: String? = nil
    ) {
        self.format = format
        self.minLength = minLength
        self.maxLength = maxLength
        self.minGraphemes = minGraphemes
        self.maxGraphemes = maxGraphemes
        self.enumValues = enumValues
        self.constValue = constValue
        self.knownValues = knownValues
        self.defaultValue = defaultValue
    }
}

/// The constraints of a `bytes` definition.
public struct LexiconBytes: Hashable, Sendable {
    /// The fewest bytes allowed (`minLength`).
    public var minLength: Int?
    /// The most bytes allowed (`maxLength`).
    public var maxLength: Int?

    /// A bytes definition.
    public init(minLength: Int? = nil, maxLength: Int? = nil) {
        self.minLength = minLength
        self.maxLength = maxLength
    }
}

/// The constraints of a `blob` definition: which MIME types are accepted and
/// how large the blob may be.
public struct LexiconBlob: Hashable, Sendable {
    /// The MIME types accepted (`accept`), each an exact type such as
    /// `image/png`, a pattern such as `image/*`, or `*/*` for any type;
    /// `nil` accepts any type.
    public var accept: [String]?
    /// The largest size allowed, in bytes (`maxSize`).
    public var maxSize: Int64?

    /// A blob definition.
    public init(accept: [String]? = nil, maxSize: Int64? = nil) {
        self.accept = accept
        self.maxSize = maxSize
    }

    /// Whether `mimeType` matches one of the ``accept`` patterns (always
    /// true when there are none). MIME types compare case-insensitively.
    public func accepts(mimeType: String) -> Bool {
        guard let accept else { return true }
        return accept.contains { LexiconBlob.matches(mimeType: mimeType, pattern: $0) }
    }

    /// Whether `mimeType` matches `pattern` (`*/*`, `type/*` or an exact
    /// type).
    public static func matches(mimeType: String, pattern: String) -> Bool {
        if pattern == "*/*" { return true }
        if pattern.hasSuffix("/*") {
            let prefix = pattern.dropLast()  // keeps the slash
            return mimeType.count > prefix.count
                && mimeType.prefix(prefix.count).lowercased() == prefix.lowercased()
        }
        return mimeType.lowercased() == pattern.lowercased()
    }
}

/// The constraints of an `array` definition.
public struct LexiconArray: Hashable, Sendable {
    /// The schema of every element (`items`).
    public var items: LexiconDefinition
    /// The fewest elements allowed (`minLength`).
    public var minLength: Int?
    /// The most elements allowed (`maxLength`).
    public var maxLength: Int?

    /// An array definition.
    public init(items: LexiconDefinition, minLength: Int? = nil, maxLength: Int? = nil) {
        self.items = items
        self.minLength = minLength
        self.maxLength = maxLength
    }
}

/// An `object` definition: named properties, which of them are required, and
/// which may be `null`. Properties not listed are allowed and not checked.
public struct LexiconObject: Hashable, Sendable {
    /// The schema of each property, by name (`properties`).
    public var properties: [String: LexiconDefinition]
    /// The properties that must be present (`required`).
    public var required: [String]
    /// The properties whose value may be `null` (`nullable`).
    public var nullable: [String]

    /// An object definition.
    public init(properties: [String: LexiconDefinition] = [:], required: [String] = [], nullable: [String] = []) {
        self.properties = properties
        self.required = required
        self.nullable = nullable
    }
}

/// A `params` definition: the query-string parameters of an XRPC method.
/// Each property is a `boolean`, `integer`, `string` or `unknown`, or an
/// array of one of these.
public struct LexiconParams: Hashable, Sendable {
    /// The schema of each parameter, by name (`properties`).
    public var properties: [String: LexiconDefinition]
    /// The parameters that must be present (`required`).
    public var required: [String]

    /// A params definition.
    public init(properties: [String: LexiconDefinition] = [:], required: [String] = []) {
        self.properties = properties
        self.required = required
    }
}

/// A `union` definition: the value is an object whose `$type` names one of
/// ``refs``. An open union (the default) also accepts objects of other
/// types, unchecked; a closed one does not.
public struct LexiconUnion: Hashable, Sendable {
    /// The definitions the value may be (`refs`).
    public var refs: [LexiconRef]
    /// Whether types other than ``refs`` are refused (`closed`).
    public var closed: Bool

    /// A union definition.
    public init(refs: [LexiconRef], closed: Bool = false) {
        self.refs = refs
        self.closed = closed
    }
}
