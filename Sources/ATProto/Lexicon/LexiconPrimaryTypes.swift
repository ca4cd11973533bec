/// A `record` definition: the schema of the records of one collection, and
/// which record keys they may have.
public struct LexiconRecord: Hashable, Sendable {
    /// Which record keys the collection allows (`key`).
    public var key: LexiconRecordKey
    /// The schema of the record's contents (`record`), always an object.
    public var record: LexiconObject

    /// A record definition.
    public init(key: LexiconRecordKey, record: LexiconObject) {
        self.key = key
        self.record = record
    }
}

/// The record keys a collection allows: the `key` of a `record` definition.
public enum LexiconRecordKey: Hashable, Sendable, CustomStringConvertible {
    /// A TID (`tid`), as for posts and likes.
    case tid
    /// An NSID (`nsid`).
    case nsid
    /// Any valid record key (`any`).
    case any
    /// Exactly one fixed key (`literal:<key>`), as `self` for profiles.
    case literal(String)

    /// Parses a `key` value; `nil` when it is none of the four forms, or the
    /// literal is not a valid record key.
    public init?(_ string: String) {
        switch string {
        case "tid": self = .tid
        case "nsid": self = .nsid
        case "any": self = .any
        default:
            guard string.hasPrefix("literal:") else { return nil }
            let key = String(string.dropFirst("literal:".count))
            guard RecordKey.isValid(key) else { return nil }
            self = .literal(key)
        }
    }

    /// Whether `recordKey` is allowed in a collection with this key type.
    public func allows(_ recordKey: String) -> Bool {
        guard RecordKey.isValid(recordKey) else { return false }
        switch self {
        case .tid: return TID.isValid(recordKey)
        case .nsid: return NSID.isValid(recordKey)
        case .any: return true
        case .literal(let key): return recordKey == key
        }
    }

    /// The `key` value as written in Lexicon JSON.
    public var description: String {
        switch self {
        case .tid: return "tid"
        case .nsid: return "nsid"
        case .any: return "any"
        case .literal(let key): return "literal:" + key
        }
    }
}

/// A `query` definition: an XRPC method called with HTTP GET.
public struct LexiconQuery: Hashable, Sendable {
    /// The query-string parameters (`parameters`).
    public var parameters: LexiconParams?
    /// The response body (`output`).
    public var output: LexiconBody?
    /// The named errors the method may return (`errors`).
    public var errors: [LexiconErrorDefinition]

    /// A query definition.
    public init(parameters: LexiconParams? = nil, output: LexiconBody? = nil, errors: [LexiconErrorDefinition] = []) {
        self.parameters = parameters
        self.output = output
        self.errors = errors
    }
}

/// A `procedure` definition: an XRPC method called with HTTP POST.
public struct LexiconProcedure: Hashable, Sendable {
    /// The query-string parameters (`parameters`).
    public var parameters: LexiconParams?
    /// The request body (`input`).
    public var input: LexiconBody?
    /// The response body (`output`).
    public var output: LexiconBody?
    /// The named errors the method may return (`errors`).
    public var errors: [LexiconErrorDefinition]

    /// A procedure definition.
    public init(
        parameters: LexiconParams? = nil, input: LexiconBody? = nil, output: LexiconBody? = nil,
        errors: [LexiconErrorDefinition] = []
    ) {
        self.parameters = parameters
        self.input = input
        self.output = output
        self.errors = errors
    }
}

/// A `subscription` definition: an XRPC event stream over WebSocket.
public struct LexiconSubscription: Hashable, Sendable {
    /// The query-string parameters (`parameters`).
    public var parameters: LexiconParams?
    /// The schema of the stream's messages (`message`).
    public var message: LexiconMessage?
    /// The named errors the stream may send (`errors`).
    public var errors: [LexiconErrorDefinition]

    /// A subscription definition.
    public init(parameters: LexiconParams? = nil, message: LexiconMessage? = nil, errors: [LexiconErrorDefinition] = []) {
        self.parameters = parameters
        self.message = message
        self.errors = errors
    }
}

/// The request or response body of an XRPC method (`input` / `output`).
public struct LexiconBody: Hashable, Sendable {
    /// The MIME type of the body (`encoding`), e.g. `application/json` or
    /// `*/*`.
    public var encoding: String
    /// The body's `description`, if any.
    public var description: String?
    /// The schema of a JSON body (`schema`): an object, a ref or a union.
    public var schema: LexiconDefinition?

    /// A body definition.
    public init(encoding: String, description: String? = nil, schema: LexiconDefinition? = nil) {
        self.encoding = encoding
        self.description = description
        self.schema = schema
    }

    /// Whether the body is JSON (`application/json`), the only encoding a
    /// schema can describe.
    public var isJSON: Bool { encoding == "application/json" }
}

/// The message schema of a subscription (`message`).
public struct LexiconMessage: Hashable, Sendable {
    /// The message's `description`, if any.
    public var description: String?
    /// The schema of each message: a union of the message types.
    public var schema: LexiconDefinition

    /// A message definition.
    public init(schema: LexiconDefinition, description: String? = nil) {
        self.schema = schema
        self.description = description
    }
}

/// A named error an XRPC method may return (an entry of `errors`).
public struct LexiconErrorDefinition: Hashable, Sendable {
    /// The error name, e.g. `RecordNotFound`.
    public var name: String
    /// What the error means.
    public var description: String?

    /// An error definition.
    public init(name: String, description: String? = nil) {
        self.name = name
        self.description = description
    }
}

/// A `permission-set` definition: a named bundle of OAuth permissions that
/// an app may request.
public struct LexiconPermissionSet: Hashable, Sendable {
    /// The name shown to the user (`title`).
    public var title: String?
    /// Translations of the title by language tag (`title:lang`).
    public var titleTranslations: [String: String]
    /// A longer explanation shown to the user (`detail`).
    public var detail: String?
    /// Translations of the detail by language tag (`detail:lang`).
    public var detailTranslations: [String: String]
    /// The permissions in the set (`permissions`).
    public var permissions: [LexiconPermission]

    /// A permission-set definition.
    public init(
        title: String? = nil, titleTranslations: [String: String] = [:], detail: String? = nil,
        detailTranslations: [String: String] = [:], permissions: [LexiconPermission] = []
    ) {
        self.title = title
        self.titleTranslations = titleTranslations
        self.detail = detail
        self.detailTranslations = detailTranslations
        self.permissions = permissions
    }
}

/// One permission of a permission set (`{"type": "permission", ...}`): the
/// kind of resource, and the resource-specific fields as written (for `repo`:
/// `collection`, `action`; for `rpc`: `lxm`, `aud`, `inheritAud`; …).
public struct LexiconPermission: Hashable, Sendable {
    /// The resource kind (`resource`), e.g. `repo` or `rpc`.
    public var resource: String
    /// Every other field except `type` and `resource`.
    public var fields: DataMap

    /// A permission.
    public init(resource: String, fields: DataMap = DataMap()) {
        self.resource = resource
        self.fields = fields
    }

    /// A field that holds a list of strings, e.g. `collection` or `lxm`;
    /// `nil` when absent or not a list of strings.
    public func strings(_ field: String) -> [String]? {
        guard case .array(let values) = fields[field] else { return nil }
        var out: [String] = []
        for value in values {
            guard case .string(let s) = value else { return nil }
            out.append(s)
        }
        return out
    }
}
