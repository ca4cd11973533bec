/// A parsed Lexicon schema document: the version (`lexicon`, always 1), the
/// NSID it defines (`id`) and its named definitions (`defs`).
///
/// ```json
/// {"lexicon": 1, "id": "app.bsky.feed.like",
///  "defs": {"main": {"type": "record", "key": "tid", "record": {…}}}}
/// ```
///
/// Parsing enforces the rules of the atproto Lexicon spec: `id` is a valid
/// NSID, every `type` is known and allowed where it appears (`ref`, `union`
/// and `unknown` only inside other definitions; `record`, `query`,
/// `procedure`, `subscription` and `permission-set` only as `main`), and
/// constraints are well-formed (`minLength` ≤ `maxLength`, `required` names
/// a property, a record's schema is an object, …). Unknown extra fields are
/// ignored, as the spec asks for forward compatibility.
public struct LexiconDocument: Hashable, Sendable {
    /// The only Lexicon language version there is.
    public static let version = 1

    /// The NSID of the document (`id`), e.g. `app.bsky.feed.post`.
    public let id: NSID
    /// The definitions by name (`defs`); `main` is the one the bare NSID
    /// names.
    public let defs: [String: LexiconDefinition]
    /// The document's revision (`revision`), if given.
    public let revision: Int64?
    /// The document's `description`, if any.
    public let description: String?

    /// A document from parts, checking the placement rules of top-level
    /// definitions (see ``LexiconDocument``).
    public init(
        id: NSID, defs: [String: LexiconDefinition], revision: Int64? = nil, description: String? = nil
    ) throws(LexiconDocumentError) {
        for (name, definition) in defs {
            try LexiconDocument.checkTopLevel(name: name, type: definition.type, documentID: id.string)
        }
        self.id = id
        self.defs = defs
        self.revision = revision
        self.description = description
    }

    /// Parses a document from its JSON text (UTF-8).
    public init(json: some Collection<UInt8>) throws(LexiconDocumentError) {
        let value: DataValue
        do {
            // Lenient: a schema is plain JSON, and `$`-keys in it are not data.
            value = try ATProtoJSON.decode(json, mode: .lenient)
        } catch {
            throw LexiconDocumentError(documentID: nil, location: "", reason: "not valid JSON: \(error)")
        }
        try self.init(value)
    }

    /// Parses a document from its JSON form read as a data-model value.
    public init(_ value: DataValue) throws(LexiconDocumentError) {
        guard case .map(let map) = value else {
            throw LexiconDocumentError(documentID: nil, location: "", reason: "a Lexicon document must be a JSON object")
        }
        // Read `id` first so that later errors can name the document.
        var documentID: String?
        if case .string(let id) = map["id"] { documentID = id }
        let parser = LexiconDefinitionParser(documentID: documentID)

        guard let lexicon = map["lexicon"] else { throw parser.error([], "the \"lexicon\" field (the version, 1) is missing") }
        guard lexicon == .int(Int64(LexiconDocument.version)) else {
            throw parser.error(["lexicon"], "\"lexicon\" must be the integer 1, not \(ATProtoJSON.encodeString(lexicon))")
        }
        guard let idValue = map["id"] else { throw parser.error([], "the \"id\" field (the document's NSID) is missing") }
        guard case .string(let idString) = idValue else {
            throw parser.error(["id"], "\"id\" must be an NSID string, not \(ATProtoJSON.encodeString(idValue))")
        }
        let id: NSID
        do {
            id = try NSID(idString)
        } catch {
            throw parser.error(["id"], error.message)
        }
        var revision: Int64?
        if let revisionValue = map["revision"] {
            guard case .int(let n) = revisionValue, n >= 0 else {
                throw parser.error(["revision"], "\"revision\" must be a non-negative integer")
            }
            revision = n
        }
        let description = try parser.optionalString(map, "description", [])

        guard let defsValue = map["defs"] else { throw parser.error([], "the \"defs\" field is missing") }
        guard case .map(let defsMap) = defsValue else { throw parser.error(["defs"], "\"defs\" must be an object") }
        var defs: [String: LexiconDefinition] = [:]
        for (name, definitionValue) in defsMap {
            let path = ["defs", name]
            // Check the name and placement before reading the body, so the
            // error names the real problem.
            if case .map(let definitionMap) = definitionValue, case .string(let type) = definitionMap["type"] {
                try LexiconDocument.checkTopLevel(name: name, typeName: type, documentID: idString)
            }
            defs[name] = try parser.definition(definitionValue, at: path, in: .topLevel)
        }
        try self.init(id: id, defs: defs, revision: revision, description: description)
    }

    /// The `main` definition, if there is one.
    public var main: LexiconDefinition? { defs["main"] }

    /// The record definition, when this document defines a record type.
    public var record: LexiconRecord? {
        if case .record(let record) = main?.type { return record }
        return nil
    }

    static let primaryTypeNames: Set<String> = ["record", "query", "procedure", "subscription", "permission-set"]

    static func checkTopLevel(name: String, type: LexiconType, documentID: String) throws(LexiconDocumentError) {
        try checkTopLevel(name: name, typeName: type.name, documentID: documentID)
    }

    static func checkTopLevel(name: String, typeName: String, documentID: String) throws(LexiconDocumentError) {
        let location = "defs/" + name
        if name.isEmpty || name.contains("#") {
            throw LexiconDocumentError(
                documentID: documentID, location: location, reason: "a definition name must be non-empty and have no '#'")
        }
        if primaryTypeNames.contains(typeName), name != "main" {
            throw LexiconDocumentError(
                documentID: documentID, location: location,
                reason: "a \"\(typeName)\" is a primary type, which may only be defined as \"main\", not \"\(name)\"")
        }
        if ["ref", "union", "unknown", "params"].contains(typeName) {
            throw LexiconDocumentError(
                documentID: documentID, location: location,
                reason: "a \"\(typeName)\" cannot be a top-level definition; it may only appear inside another definition")
        }
    }
}
