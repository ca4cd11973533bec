import Foundation
import LexiconFiles
import TestSupport
import Testing

@testable import ATProto

extension LexiconCatalog {
    /// The catalog of every Lexicon document bundled with the server.
    static func bundled() throws -> LexiconCatalog {
        try LexiconCatalog(jsonDocuments: LexiconFiles.all())
    }
}

/// The interop Lexicon vectors (`Tests/Fixtures/interop/lexicon/`, see the
/// README there) and the bundled official documents. Counts are checked
/// against the README so that a lost vector fails the test.
@Suite("Lexicon interop vectors")
struct LexiconVectorTests {
    static let folder = "interop/lexicon/"

    /// The `[{name, …}]` vectors of a file, as raw JSON members.
    static func vectors(_ file: String) throws -> [[String: [UInt8]]] {
        try RawJSONMembers.split(Array(Fixtures.data(folder + file)))
    }

    /// A plain JSON string member, such as `name` or `rkey`.
    static func string(_ vector: [String: [UInt8]], _ key: String) throws -> String {
        let raw = try #require(vector[key], "vector has no \(key)")
        return try #require(try ATProtoJSON.decode(raw).stringValue, "\(key) is not a string")
    }

    static func name(_ vector: [String: [UInt8]]) throws -> String { try string(vector, "name") }

    @Test func validDocumentsParse() throws {
        let vectors = try Self.vectors("lexicon-valid.json")
        for vector in vectors {
            let name = try Self.name(vector)
            #expect(throws: Never.self, "\(name)") { try LexiconDocument(json: try #require(vector["lexicon"])) }
        }
        #expect(vectors.count == 3)
    }

    @Test func invalidDocumentsAreRejected() throws {
        let vectors = try Self.vectors("lexicon-invalid.json")
        var messages: [String: String] = [:]
        for vector in vectors {
            let name = try Self.name(vector)
            do {
                let document = try LexiconDocument(json: try #require(vector["lexicon"]))
                Issue.record("\(name): accepted as \(document.id)")
            } catch {
                messages[name] = "\(error)"
            }
        }
        #expect(vectors.count == 7)
        #expect(messages.count == 7)
        // Each is refused for the reason its name gives.
        #expect(messages["invalid lexicon field"]?.contains("\"lexicon\" must be the integer 1") == true)
        #expect(messages["invalid id field"]?.contains("\"id\" must be an NSID string") == true)
        #expect(messages["invalid NSID"]?.contains("invalid NSID 'one-two-three'") == true)
        #expect(messages["defined unknown"]?.contains("\"unknown\" cannot be a top-level definition") == true)
        #expect(messages["defined ref"]?.contains("\"ref\" cannot be a top-level definition") == true)
        #expect(messages["non-main primary"]?.contains("may only be defined as \"main\", not \"demo\"") == true)
        #expect(messages["record missing type object"]?.contains("must be an object definition") == true)
        #expect(
            messages["defined ref"]
                == "invalid Lexicon document example.lexicon.other at defs/demo: a \"ref\" cannot be a top-level definition; it may only appear inside another definition"
        )
    }

    static let catalogFiles = ["record", "query", "procedure", "subscription", "permission-set"]

    @Test func catalogDocumentsParse() throws {
        var ids: [String] = []
        for file in Self.catalogFiles {
            let document = try LexiconDocument(json: try Fixtures.data(Self.folder + "catalog/\(file).json"))
            ids.append(document.id.string)
        }
        #expect(
            ids == [
                "example.lexicon.record", "example.lexicon.query", "example.lexicon.procedure",
                "example.lexicon.subscription", "example.lexicon.permissionset",
            ])
        let record = try LexiconDocument(json: try Fixtures.data(Self.folder + "catalog/record.json"))
        #expect(record.record?.key == .literal("demo"))
        #expect(record.defs.count == 5)
        guard case .object(let formats)? = record.defs["stringFormats"]?.type,
            case .string(let datetime)? = formats.properties["datetime"]?.type
        else {
            Issue.record("stringFormats/datetime is not a string definition")
            return
        }
        #expect(datetime.format == .datetime)
        let permissions = try LexiconDocument(json: try Fixtures.data(Self.folder + "catalog/permission-set.json"))
        guard case .permissionSet(let set)? = permissions.main?.type else {
            Issue.record("not a permission set")
            return
        }
        #expect(set.permissions.count == 6)
        #expect(set.titleTranslations["fr"] == "Example for Modération")
        #expect(set.permissions[0].strings("collection") == ["com.example.calendar.event", "com.example.calendar.rsvp"])
    }

    /// The monorepo's code-generation inputs (33 small documents, including
    /// def names that are not identifiers) parse too.
    @Test func codegenDocumentsParse() throws {
        let root = Fixtures.root.appendingPathComponent("interop/atproto-monorepo/lex-codegen-lexicons")
        let walker = try #require(FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil))
        var documents: [LexiconDocument] = []
        for case let url as URL in walker where url.pathExtension == "json" {
            documents.append(try LexiconDocument(json: try Data(contentsOf: url)))
        }
        #expect(documents.count == 33)
        let catalog = try LexiconCatalog(documents: documents)
        #expect(catalog.unresolvedReferences.isEmpty, "\(catalog.unresolvedReferences)")
    }

    // MARK: Record data

    /// A record of the vector files in the data model. Records are decoded
    /// strictly. One valid vector (`full`) writes `{"$bytes": "123"}`, base64
    /// with non-zero trailing bits, which the reference implementations
    /// (Go's `RawStdEncoding`, Node's `Buffer`) decode to two bytes but this
    /// module's strict decoder refuses; such `$bytes` are normalised to the
    /// canonical encoding of the same bytes first, and counted.
    static func record(_ raw: [UInt8], normalised: inout Int) throws(ATProtoJSONError) -> DataValue {
        do {
            return try ATProtoJSON.decode(raw)
        } catch let strictError {
            let lenient = try ATProtoJSON.decode(raw, mode: .lenient)
            var changed = false
            let fixed = canonicalisingBytes(lenient, changed: &changed)
            guard changed else { throw strictError }
            let value = try ATProtoJSON.decode(ATProtoJSON.encode(fixed))
            normalised += 1
            return value
        }
    }

    /// Replaces `{"$bytes": s}` maps whose base64 has non-zero trailing bits
    /// with the bytes they encode.
    static func canonicalisingBytes(_ value: DataValue, changed: inout Bool) -> DataValue {
        switch value {
        case .array(let elements):
            return .array(elements.map { canonicalisingBytes($0, changed: &changed) })
        case .map(let map):
            if map.count == 1, case .string(let text)? = map["$bytes"], let bytes = lenientBase64(text) {
                changed = true
                return .bytes(bytes)
            }
            var out = DataMap()
            for (key, element) in map { out[key] = canonicalisingBytes(element, changed: &changed) }
            return .map(out)
        default:
            return value
        }
    }

    /// Unpadded standard base64 with the unused low bits of the last
    /// character cleared, then decoded strictly.
    static func lenientBase64(_ text: String) -> [UInt8]? {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
        var characters = Array(text)
        let unusedBits = [0: 0, 2: 4, 3: 2][characters.count % 4]
        guard let unusedBits, unusedBits > 0, let last = characters.last, let index = alphabet.firstIndex(of: last) else {
            return nil
        }
        characters[characters.count - 1] = alphabet[index & ~((1 << unusedBits) - 1)]
        return Base64.decode(String(characters))
    }

    @Test func recordData() throws {
        let catalog = try LexiconCatalog(documents: [
            try LexiconDocument(json: try Fixtures.data(Self.folder + "catalog/record.json"))
        ])
        var normalised = 0

        let valid = try Self.vectors("record-data-valid.json")
        for vector in valid {
            let name = try Self.name(vector)
            let rkey = try Self.string(vector, "rkey")
            let record = try Self.record(try #require(vector["data"]), normalised: &normalised)
            #expect(throws: Never.self, "\(name)") {
                let result = try catalog.validateRecord(collection: "example.lexicon.record", rkey: rkey, record: record)
                #expect(result == .valid, "\(name)")
            }
        }

        let invalid = try Self.vectors("record-data-invalid.json")
        let normalisedValid = normalised
        var refusedByDataModel = 0
        for vector in invalid {
            let name = try Self.name(vector)
            let rkey = try Self.string(vector, "rkey")
            let record: DataValue
            do {
                record = try Self.record(try #require(vector["data"]), normalised: &normalised)
            } catch {
                refusedByDataModel += 1
                continue
            }
            do {
                let result = try catalog.validateRecord(collection: "example.lexicon.record", rkey: rkey, record: record)
                Issue.record("\(name): accepted (\(result))")
            } catch {
                #expect(error.path.hasPrefix("Record"), "\(name): \(error)")
            }
        }
        print(
            "lexicon record data: \(valid.count) valid, \(invalid.count) invalid "
                + "(\(refusedByDataModel) invalid already refused by the data model; non-canonical $bytes normalised in "
                + "\(normalisedValid) valid and \(normalised - normalisedValid) invalid)")
        #expect(valid.count == 3)
        #expect(invalid.count == 50)
        // `full` (valid) and `unknown wrong type (bytes)` (invalid).
        #expect(normalisedValid == 1 && normalised == 2)
    }

    /// The error of each invalid vector, spot-checked for path and wording.
    @Test func recordDataMessages() throws {
        let catalog = try LexiconCatalog(documents: [
            try LexiconDocument(json: try Fixtures.data(Self.folder + "catalog/record.json"))
        ])
        func message(_ json: String) -> String? {
            do {
                _ = try catalog.validateRecord(
                    collection: "example.lexicon.record", rkey: "demo", record: try ATProtoJSON.decode(json))
                return nil
            } catch {
                return "\(error)"
            }
        }
        let base = #"{"$type": "example.lexicon.record", "integer": 1, "#
        #expect(message(#"{"$type": "example.lexicon.record"}"#) == #"Record must have the property "integer""#)
        #expect(message(base + #""string": null}"#) == "Record/string must be a string")
        #expect(message(base + #""lenString": "."}"#) == "Record/lenString must not be shorter than 10 bytes of UTF-8")
        #expect(
            message(base + #""graphemeString": "abcdefg-abcdefg-abcdefg"}"#)
                == "Record/graphemeString must not be longer than 20 graphemes")
        #expect(message(base + #""enumInteger": 7}"#) == "Record/enumInteger must be one of (4|9|16|25)")
        #expect(message(base + #""rangeInteger": 9000}"#) == "Record/rangeInteger can not be greater than 20")
        #expect(message(base + #""constInteger": 41}"#) == "Record/constInteger must be 42")
        #expect(message(base + #""array": [true]}"#) == "Record/array/0 must be an integer")
        #expect(message(base + #""formats": {"did": "123"}}"#)?.hasPrefix("Record/formats/did must be a valid DID (") == true)
        #expect(
            message(base + #""union": {"a": 1}}"#) == #"Record/union must be an object which includes the "$type" property"#)
        #expect(
            message(base + #""closedUnion": {"$type": "example.unknown-lexicon.blah"}}"#)
                == "Record/closedUnion $type must be one of example.lexicon.record#demoObject, not example.unknown-lexicon.blah")
        // The three `unknown wrong type` vectors lack `integer` too; check
        // the `unknown` rule itself.
        #expect(message(base + #""unknown": false}"#) == "Record/unknown must be an object")
        #expect(message(base + #""unknown": {"$bytes": "b25l"}}"#) == "Record/unknown must be an object")
        #expect(
            message(base + #""unknown": {"$type": "blob", "mimeType": "text/plain", "size": 1, "ref": {"$link": ""#
                + "bafyreiclp443lavogvhj3d2ob2cxbfuscni2k5jk7bebjzg7khl3esabwq" + #""}}}"#)
                == "Record/unknown must be an object, not a blob")
        // An open union accepts an object of another type unchecked.
        #expect(message(base + #""union": {"$type": "example.unknown-lexicon.blah", "a": "x"}}"#) == nil)
        // The record key must match `literal:demo`.
        #expect(throws: LexiconValidationError.self) {
            try catalog.validateRecord(
                collection: "example.lexicon.record", rkey: "other", record: try ATProtoJSON.decode(#"{"$type": "example.lexicon.record", "integer": 1}"#))
        }
    }

    // MARK: Bundled documents

    /// Every `ref` and union member of a definition, with where it is.
    static func references(in definition: LexiconDefinition) -> [LexiconRef] {
        var refs: [LexiconRef] = []
        func properties(_ properties: [String: LexiconDefinition]) {
            for property in properties.values { refs += references(in: property) }
        }
        func body(_ body: LexiconBody?) {
            if let schema = body?.schema { refs += references(in: schema) }
        }
        switch definition.type {
        case .ref(let ref): refs.append(ref)
        case .union(let union): refs += union.refs
        case .array(let array): refs += references(in: array.items)
        case .object(let object): properties(object.properties)
        case .params(let params): properties(params.properties)
        case .record(let record): properties(record.record.properties)
        case .query(let query):
            properties(query.parameters?.properties ?? [:])
            body(query.output)
        case .procedure(let procedure):
            properties(procedure.parameters?.properties ?? [:])
            body(procedure.input)
            body(procedure.output)
        case .subscription(let subscription):
            properties(subscription.parameters?.properties ?? [:])
            if let schema = subscription.message?.schema { refs += references(in: schema) }
        default: break
        }
        return refs
    }

    @Test func bundledDocuments() throws {
        // 259 upstream documents plus the 4 net.atrarium.* ones.
        let files = try LexiconFiles.all()
        #expect(files.count == 263)
        let catalog = try LexiconCatalog.bundled()
        #expect(catalog.count == 263)
        #expect(catalog.unresolvedReferences.isEmpty, "\(catalog.unresolvedReferences)")

        var checked = 0
        for document in catalog.documents.values {
            for (name, definition) in document.defs {
                for ref in Self.references(in: definition) {
                    #expect(catalog.resolve(ref, from: document.id) != nil, "\(document.id)#\(name): \(ref)")
                    checked += 1
                }
            }
        }
        print("bundled lexicons: \(catalog.count) documents, \(checked) references resolved")
        #expect(checked == 480)

        // The interop example documents join the bundled ones (the
        // procedure refers to app.bsky.actor.defs#preferences).
        var joined = catalog
        for file in Self.catalogFiles {
            try joined.add(json: try Fixtures.data(Self.folder + "catalog/\(file).json"))
        }
        #expect(joined.count == 268)
        #expect(joined.unresolvedReferences.isEmpty, "\(joined.unresolvedReferences)")
        #expect(throws: LexiconDocumentError.self) {
            try joined.add(json: try Fixtures.data(Self.folder + "catalog/record.json"))
        }
    }
}
