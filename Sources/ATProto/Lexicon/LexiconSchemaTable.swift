/// The definitions of a ``LexiconCatalog`` compiled for fast validation:
/// every data type becomes a node in one array, and every `ref` and union
/// member is resolved to a node index once, when the catalog is built, so
/// validating a record never looks a name up.
///
/// Refs to a definition the catalog lacks become ``Node/unresolved(_:)``
/// nodes, which fail only if data actually reaches them.
struct LexiconSchemaTable: Sendable {
    /// One compiled data type.
    enum Node: Sendable {
        case null
        case boolean(LexiconBoolean)
        case integer(LexiconInteger)
        case string(LexiconString)
        case bytes(LexiconBytes)
        case cidLink
        case blob(LexiconBlob)
        case array(ArrayNode)
        case object(ObjectNode)
        case union(UnionNode)
        case unknown
        /// A ref to a definition that is not in the catalog (its full name).
        case unresolved(String)
        /// A definition that no value can match (a token, a method, …),
        /// with the reason.
        case unusable(String)
    }

    struct ArrayNode: Sendable {
        var items: Int
        var minLength: Int?
        var maxLength: Int?
    }

    struct Property: Sendable {
        var name: String
        var node: Int
        var required: Bool
        var nullable: Bool
    }

    /// An object or params schema, its properties in the canonical key order
    /// of ``DataMap`` so both can be walked together.
    struct ObjectNode: Sendable {
        var properties: [Property]
    }

    struct UnionMember: Sendable {
        /// How `$type` names the member: `nsid` for a `main`, else `nsid#name`.
        var typeName: String
        /// The other accepted spelling: `nsid#main` for a `main`.
        var alternateName: String?
        var node: Int
    }

    struct UnionNode: Sendable {
        var members: [UnionMember]
        var closed: Bool
    }

    /// A JSON body of a method.
    struct Body: Sendable {
        var encoding: String
        var schema: Int?
    }

    /// The schemas of an XRPC method.
    struct Method: Sendable {
        var kind: String
        var parameters: Int?
        var input: Body?
        var output: Body?
    }

    struct Record: Sendable {
        var key: LexiconRecordKey
        var object: Int
    }

    /// A ref that names a definition the catalog lacks.
    struct UnresolvedRef: Hashable, Sendable {
        /// The full name of the top-level definition that holds the ref.
        var from: String
        /// The full name it refers to.
        var target: String
    }

    private(set) var nodes: [Node] = []
    /// Top-level definitions by full name (`nsid#name`). A record names the
    /// node of its object schema.
    private(set) var definitions: [String: Int] = [:]
    /// Record schemas by collection NSID.
    private(set) var records: [String: Record] = [:]
    /// Query, procedure and subscription schemas by NSID.
    private(set) var methods: [String: Method] = [:]
    private(set) var unresolvedRefs: [UnresolvedRef] = []

    /// The full name of the definition being compiled, for `unresolvedRefs`.
    private var current = ""

    init() {}

    init(documents: some Collection<LexiconDocument>) {
        // Reserve a node for every top-level definition first, so refs
        // between documents (in any order, even cyclic) resolve directly.
        for document in documents {
            for name in document.defs.keys.sorted() {
                definitions[LexiconRef.fullName(nsid: document.id.string, name: name)] = nodes.count
                nodes.append(.unknown)
            }
        }
        for document in documents {
            for name in document.defs.keys.sorted() {
                let definition = document.defs[name]!
                let fullName = LexiconRef.fullName(nsid: document.id.string, name: name)
                current = fullName
                nodes[definitions[fullName]!] = topLevelNode(definition.type, document: document.id, fullName: fullName)
            }
        }
    }

    private mutating func topLevelNode(_ type: LexiconType, document: NSID, fullName: String) -> Node {
        let nsid = document.string
        switch type {
        case .record(let record):
            records[nsid] = Record(key: record.key, object: definitions[fullName]!)
            return objectNode(record.record, document: document)
        case .query(let query):
            methods[nsid] = Method(
                kind: "query", parameters: query.parameters.map { paramsNode($0, document: document) }, input: nil,
                output: query.output.map { body($0, document: document) })
            return .unusable("\(fullName) is a query, not a data type")
        case .procedure(let procedure):
            methods[nsid] = Method(
                kind: "procedure", parameters: procedure.parameters.map { paramsNode($0, document: document) },
                input: procedure.input.map { body($0, document: document) },
                output: procedure.output.map { body($0, document: document) })
            return .unusable("\(fullName) is a procedure, not a data type")
        case .subscription(let subscription):
            methods[nsid] = Method(
                kind: "subscription", parameters: subscription.parameters.map { paramsNode($0, document: document) },
                input: nil, output: nil)
            if let message = subscription.message { _ = inline(message.schema, document: document) }
            return .unusable("\(fullName) is a subscription, not a data type")
        case .permissionSet:
            return .unusable("\(fullName) is a permission set, not a data type")
        default:
            return node(type, document: document)
        }
    }

    private mutating func body(_ body: LexiconBody, document: NSID) -> Body {
        Body(encoding: body.encoding, schema: body.schema.map { inline($0, document: document) })
    }

    private mutating func paramsNode(_ params: LexiconParams, document: NSID) -> Int {
        let node = objectNode(
            LexiconObject(properties: params.properties, required: params.required), document: document)
        nodes.append(node)
        return nodes.count - 1
    }

    /// The node index for a nested definition: the target of a ref, or a
    /// new node.
    private mutating func inline(_ definition: LexiconDefinition, document: NSID) -> Int {
        if case .ref(let ref) = definition.type { return resolve(ref, document: document) }
        let node = node(definition.type, document: document)
        nodes.append(node)
        return nodes.count - 1
    }

    private mutating func resolve(_ ref: LexiconRef, document: NSID) -> Int {
        let target = ref.fullName(in: document)
        if let index = definitions[target] { return index }
        unresolvedRefs.append(UnresolvedRef(from: current, target: target))
        nodes.append(.unresolved(target))
        return nodes.count - 1
    }

    private mutating func objectNode(_ object: LexiconObject, document: NSID) -> Node {
        let required = Set(object.required), nullable = Set(object.nullable)
        var properties: [Property] = []
        for name in object.properties.keys.sorted(by: DataMap.canonicalOrder) {
            properties.append(
                Property(
                    name: name, node: inline(object.properties[name]!, document: document),
                    required: required.contains(name), nullable: nullable.contains(name)))
        }
        return .object(ObjectNode(properties: properties))
    }

    private mutating func node(_ type: LexiconType, document: NSID) -> Node {
        switch type {
        case .null: return .null
        case .boolean(let b): return .boolean(b)
        case .integer(let i): return .integer(i)
        case .string(let s): return .string(s)
        case .bytes(let b): return .bytes(b)
        case .cidLink: return .cidLink
        case .blob(let b): return .blob(b)
        case .unknown: return .unknown
        case .array(let array):
            return .array(
                ArrayNode(
                    items: inline(array.items, document: document), minLength: array.minLength,
                    maxLength: array.maxLength))
        case .object(let object):
            return objectNode(object, document: document)
        case .params(let params):
            return objectNode(LexiconObject(properties: params.properties, required: params.required), document: document)
        case .ref(let ref):
            // Only reached for a ref that is not inlined (never at top level).
            return .unresolved(ref.fullName(in: document))
        case .union(let union):
            var members: [UnionMember] = []
            for ref in union.refs {
                let nsid = (ref.nsid ?? document).string
                members.append(
                    UnionMember(
                        typeName: LexiconRef.typeName(nsid: nsid, name: ref.name),
                        alternateName: ref.name == "main" ? nsid + "#main" : nil,
                        node: resolve(ref, document: document)))
            }
            return .union(UnionNode(members: members, closed: union.closed))
        case .token:
            return .unusable("a token holds no data")
        case .record(let record):
            return objectNode(record.record, document: document)
        case .query, .procedure, .subscription, .permissionSet:
            return .unusable("a \(type.name) is not a data type")
        }
    }
}
