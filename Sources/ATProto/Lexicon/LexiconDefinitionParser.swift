/// Reads Lexicon definitions from their JSON form (as data-model values),
/// checking the rules of the Lexicon spec: known `type` names, the kinds of
/// definition allowed in each place, and well-formed constraints.
struct LexiconDefinitionParser {
    /// The document being read, for error messages.
    let documentID: String?

    /// Where a definition appears, which decides the types it may have.
    enum Place: CustomStringConvertible {
        case topLevel, property, arrayItems, parameter, parameterItems, bodySchema, messageSchema

        var allowedTypes: Set<String> {
            let fields: Set<String> = [
                "null", "boolean", "integer", "string", "bytes", "cid-link", "blob", "array", "object", "ref", "union",
                "unknown",
            ]
            switch self {
            case .topLevel:
                return fields.subtracting(["ref", "union", "unknown"]).union([
                    "token", "record", "query", "procedure", "subscription", "permission-set",
                ])
            case .property, .arrayItems: return fields
            case .parameter: return ["boolean", "integer", "string", "unknown", "array"]
            case .parameterItems: return ["boolean", "integer", "string", "unknown"]
            case .bodySchema: return ["object", "ref", "union"]
            case .messageSchema: return ["union"]
            }
        }

        var description: String {
            switch self {
            case .topLevel: return "a top-level definition"
            case .property: return "an object property"
            case .arrayItems: return "array items"
            case .parameter: return "a parameter"
            case .parameterItems: return "the items of an array parameter"
            case .bodySchema: return "the schema of an input or output body"
            case .messageSchema: return "the schema of a subscription message"
            }
        }
    }

    func error(_ path: [String], _ reason: String) -> LexiconDocumentError {
        LexiconDocumentError(documentID: documentID, location: path.joined(separator: "/"), reason: reason)
    }

    // MARK: Definitions

    /// Reads one definition found at `path`, in place `place`.
    func definition(_ value: DataValue, at path: [String], in place: Place) throws(LexiconDocumentError) -> LexiconDefinition {
        guard case .map(let map) = value else { throw error(path, "a definition must be a JSON object") }
        guard let typeValue = map["type"] else { throw error(path, "a definition needs a \"type\"") }
        guard case .string(let type) = typeValue else { throw error(path + ["type"], "\"type\" must be a string") }
        guard place.allowedTypes.contains(type) || !LexiconDefinitionParser.allTypes.contains(type) else {
            if place == .topLevel, ["ref", "union", "unknown"].contains(type) {
                throw error(path, "a \"\(type)\" cannot be a top-level definition; it may only appear inside another definition")
            }
            let allowed = place.allowedTypes.sorted().map { "\"\($0)\"" }.joined(separator: ", ")
            throw error(path, "a \"\(type)\" cannot be \(place); allowed there: \(allowed)")
        }
        let description = try optionalString(map, "description", path)
        return LexiconDefinition(try self.type(type, map, at: path, in: place), description: description)
    }

    static let allTypes: Set<String> = [
        "null", "boolean", "integer", "string", "bytes", "cid-link", "blob", "array", "object", "params", "token", "ref",
        "union", "unknown", "record", "query", "procedure", "subscription", "permission-set",
    ]

    private func type(
        _ type: String, _ map: DataMap, at path: [String], in place: Place
    ) throws(LexiconDocumentError) -> LexiconType {
        switch type {
        case "null": return .null
        case "boolean":
            return .boolean(
                LexiconBoolean(
                    constValue: try optionalBool(map, "const", path), defaultValue: try optionalBool(map, "default", path)))
        case "integer": return .integer(try integer(map, at: path))
        case "string": return .string(try string(map, at: path))
        case "bytes":
            let (min, max) = try lengthRange(map, "minLength", "maxLength", path)
            return .bytes(LexiconBytes(minLength: min, maxLength: max))
        case "cid-link": return .cidLink
        case "blob": return .blob(try blob(map, at: path))
        case "array":
            guard let items = map["items"] else { throw error(path, "an array needs \"items\"") }
            let itemPlace: Place = place == .parameter ? .parameterItems : .arrayItems
            let (min, max) = try lengthRange(map, "minLength", "maxLength", path)
            return .array(
                LexiconArray(
                    items: try definition(items, at: path + ["items"], in: itemPlace), minLength: min, maxLength: max))
        case "object": return .object(try object(map, at: path))
        case "params": return .params(try params(map, at: path))
        case "token": return .token
        case "ref":
            guard let refValue = map["ref"] else { throw error(path, "a ref needs a \"ref\"") }
            return .ref(try ref(refValue, at: path + ["ref"]))
        case "union":
            guard let refsValue = map["refs"] else { throw error(path, "a union needs \"refs\"") }
            guard case .array(let refValues) = refsValue else { throw error(path + ["refs"], "\"refs\" must be an array") }
            var refs: [LexiconRef] = []
            for (i, refValue) in refValues.enumerated() {
                refs.append(try ref(refValue, at: path + ["refs", String(i)]))
            }
            return .union(LexiconUnion(refs: refs, closed: try optionalBool(map, "closed", path) ?? false))
        case "unknown": return .unknown
        case "record": return .record(try record(map, at: path))
        case "query":
            return .query(
                LexiconQuery(
                    parameters: try optionalParams(map, at: path), output: try optionalBody(map, "output", at: path),
                    errors: try errors(map, at: path)))
        case "procedure":
            return .procedure(
                LexiconProcedure(
                    parameters: try optionalParams(map, at: path), input: try optionalBody(map, "input", at: path),
                    output: try optionalBody(map, "output", at: path), errors: try errors(map, at: path)))
        case "subscription":
            var message: LexiconMessage?
            if let messageValue = map["message"] {
                let messagePath = path + ["message"]
                guard case .map(let messageMap) = messageValue else { throw error(messagePath, "\"message\" must be an object") }
                guard let schema = messageMap["schema"] else { throw error(messagePath, "a message needs a \"schema\"") }
                message = LexiconMessage(
                    schema: try definition(schema, at: messagePath + ["schema"], in: .messageSchema),
                    description: try optionalString(messageMap, "description", messagePath))
            }
            return .subscription(
                LexiconSubscription(
                    parameters: try optionalParams(map, at: path), message: message, errors: try errors(map, at: path)))
        case "permission-set": return .permissionSet(try permissionSet(map, at: path))
        default:
            throw error(path + ["type"], "unknown definition type \"\(type)\"")
        }
    }

    private func integer(_ map: DataMap, at path: [String]) throws(LexiconDocumentError) -> LexiconInteger {
        let minimum = try optionalInt(map, "minimum", path)
        let maximum = try optionalInt(map, "maximum", path)
        if let minimum, let maximum, minimum > maximum {
            throw error(path, "\"minimum\" (\(minimum)) is greater than \"maximum\" (\(maximum))")
        }
        var enumValues: [Int64]?
        if let values = try optionalArray(map, "enum", path) {
            enumValues = []
            for (i, value) in values.enumerated() {
                guard case .int(let n) = value else { throw error(path + ["enum", String(i)], "must be an integer") }
                enumValues?.append(n)
            }
        }
        return LexiconInteger(
            minimum: minimum, maximum: maximum, enumValues: enumValues, constValue: try optionalInt(map, "const", path),
            defaultValue: try optionalInt(map, "default", path))
    }

    private func string(_ map: DataMap, at path: [String]) throws(LexiconDocumentError) -> LexiconString {
        var format: LexiconStringFormat?
        if let name = try optionalString(map, "format", path) {
            guard let known = LexiconStringFormat(rawValue: name) else {
                let names = LexiconStringFormat.allCases.map(\.rawValue).joined(separator: ", ")
                throw error(path + ["format"], "unknown string format \"\(name)\"; known formats: \(names)")
            }
            format = known
        }
        let (minLength, maxLength) = try lengthRange(map, "minLength", "maxLength", path)
        let (minGraphemes, maxGraphemes) = try lengthRange(map, "minGraphemes", "maxGraphemes", path)
        return LexiconString(
            format: format, minLength: minLength, maxLength: maxLength, minGraphemes: minGraphemes,
            maxGraphemes: maxGraphemes, enumValues: try optionalStrings(map, "enum", path),
            constValue: try optionalString(map, "const", path), knownValues: try optionalStrings(map, "knownValues", path),
            defaultValue: try optionalString(map, "default", path))
    }

    private func blob(_ map: DataMap, at path: [String]) throws(LexiconDocumentError) -> LexiconBlob {
        let accept = try optionalStrings(map, "accept", path)
        for (i, pattern) in (accept ?? []).enumerated() {
            let parts = pattern.split(separator: "/", omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty, parts[0] != "*" || parts[1] == "*" else {
                throw error(
                    path + ["accept", String(i)],
                    "\"\(pattern)\" is not a MIME type pattern (such as image/png, image/* or */*)")
            }
        }
        let maxSize = try optionalInt(map, "maxSize", path)
        if let maxSize, maxSize < 0 { throw error(path + ["maxSize"], "must not be negative") }
        return LexiconBlob(accept: accept, maxSize: maxSize)
    }

    private func properties(
        _ map: DataMap, at path: [String], in place: Place
    ) throws(LexiconDocumentError) -> [String: LexiconDefinition] {
        guard let value = map["properties"] else { return [:] }
        guard case .map(let propertyMap) = value else { throw error(path + ["properties"], "\"properties\" must be an object") }
        var properties: [String: LexiconDefinition] = [:]
        for (name, definition) in propertyMap {
            properties[name] = try self.definition(definition, at: path + ["properties", name], in: place)
        }
        return properties
    }

    /// Reads `key` (`required` or `nullable`), checking that each name is a
    /// property.
    private func propertyNames(
        _ map: DataMap, _ key: String, of properties: [String: LexiconDefinition], at path: [String]
    ) throws(LexiconDocumentError) -> [String] {
        let names = try optionalStrings(map, key, path) ?? []
        for (i, name) in names.enumerated() where properties[name] == nil {
            throw error(path + [key, String(i)], "\"\(name)\" is not one of the properties")
        }
        return names
    }

    func object(_ map: DataMap, at path: [String]) throws(LexiconDocumentError) -> LexiconObject {
        let properties = try properties(map, at: path, in: .property)
        return LexiconObject(
            properties: properties, required: try propertyNames(map, "required", of: properties, at: path),
            nullable: try propertyNames(map, "nullable", of: properties, at: path))
    }

    private func params(_ map: DataMap, at path: [String]) throws(LexiconDocumentError) -> LexiconParams {
        let properties = try properties(map, at: path, in: .parameter)
        return LexiconParams(properties: properties, required: try propertyNames(map, "required", of: properties, at: path))
    }

    private func ref(_ value: DataValue, at path: [String]) throws(LexiconDocumentError) -> LexiconRef {
        guard case .string(let string) = value else { throw error(path, "a reference must be a string") }
        guard let ref = LexiconRef(string) else {
            throw error(path, "\"\(string)\" is not a reference (#name, nsid or nsid#name)")
        }
        return ref
    }

    private func record(_ map: DataMap, at path: [String]) throws(LexiconDocumentError) -> LexiconRecord {
        guard let keyValue = map["key"] else { throw error(path, "a record needs a \"key\"") }
        guard case .string(let keyString) = keyValue, let key = LexiconRecordKey(keyString) else {
            throw error(path + ["key"], "\"key\" must be \"tid\", \"nsid\", \"any\" or \"literal:<record key>\"")
        }
        guard let recordValue = map["record"] else { throw error(path, "a record needs a \"record\" schema") }
        let recordPath = path + ["record"]
        guard case .map(let recordMap) = recordValue, recordMap["type"] == .string("object") else {
            throw error(recordPath, "the \"record\" schema must be an object definition (\"type\": \"object\")")
        }
        _ = try optionalString(recordMap, "description", recordPath)
        return LexiconRecord(key: key, record: try object(recordMap, at: recordPath))
    }

    private func optionalParams(_ map: DataMap, at path: [String]) throws(LexiconDocumentError) -> LexiconParams? {
        guard let value = map["parameters"] else { return nil }
        let paramsPath = path + ["parameters"]
        guard case .map(let paramsMap) = value, paramsMap["type"] == .string("params") else {
            throw error(paramsPath, "\"parameters\" must be a params definition (\"type\": \"params\")")
        }
        return try params(paramsMap, at: paramsPath)
    }

    private func optionalBody(_ map: DataMap, _ key: String, at path: [String]) throws(LexiconDocumentError) -> LexiconBody? {
        guard let value = map[key] else { return nil }
        let bodyPath = path + [key]
        guard case .map(let bodyMap) = value else { throw error(bodyPath, "\"\(key)\" must be an object") }
        guard let encoding = try optionalString(bodyMap, "encoding", bodyPath), !encoding.isEmpty else {
            throw error(bodyPath, "a body needs an \"encoding\" (a MIME type such as application/json)")
        }
        var schema: LexiconDefinition?
        if let schemaValue = bodyMap["schema"] {
            schema = try definition(schemaValue, at: bodyPath + ["schema"], in: .bodySchema)
        }
        return LexiconBody(encoding: encoding, description: try optionalString(bodyMap, "description", bodyPath), schema: schema)
    }

    private func errors(_ map: DataMap, at path: [String]) throws(LexiconDocumentError) -> [LexiconErrorDefinition] {
        guard let values = try optionalArray(map, "errors", path) else { return [] }
        var errors: [LexiconErrorDefinition] = []
        for (i, value) in values.enumerated() {
            let errorPath = path + ["errors", String(i)]
            guard case .map(let errorMap) = value, let name = try optionalString(errorMap, "name", errorPath), !name.isEmpty else {
                throw error(errorPath, "an error must be an object with a \"name\"")
            }
            errors.append(LexiconErrorDefinition(name: name, description: try optionalString(errorMap, "description", errorPath)))
        }
        return errors
    }

    private func permissionSet(_ map: DataMap, at path: [String]) throws(LexiconDocumentError) -> LexiconPermissionSet {
        var permissions: [LexiconPermission] = []
        for (i, value) in (try optionalArray(map, "permissions", path) ?? []).enumerated() {
            let permissionPath = path + ["permissions", String(i)]
            guard case .map(var fields) = value, fields["type"] == .string("permission") else {
                throw error(permissionPath, "a permission must be an object with \"type\": \"permission\"")
            }
            guard case .string(let resource) = fields["resource"], !resource.isEmpty else {
                throw error(permissionPath, "a permission needs a \"resource\" string")
            }
            fields["type"] = nil
            fields["resource"] = nil
            permissions.append(LexiconPermission(resource: resource, fields: fields))
        }
        return LexiconPermissionSet(
            title: try optionalString(map, "title", path), titleTranslations: try translations(map, "title:lang", path),
            detail: try optionalString(map, "detail", path), detailTranslations: try translations(map, "detail:lang", path),
            permissions: permissions)
    }

    // MARK: Field readers

    func optionalString(_ map: DataMap, _ key: String, _ path: [String]) throws(LexiconDocumentError) -> String? {
        guard let value = map[key] else { return nil }
        guard case .string(let s) = value else { throw error(path + [key], "\"\(key)\" must be a string") }
        return s
    }

    private func optionalBool(_ map: DataMap, _ key: String, _ path: [String]) throws(LexiconDocumentError) -> Bool? {
        guard let value = map[key] else { return nil }
        guard case .bool(let b) = value else { throw error(path + [key], "\"\(key)\" must be true or false") }
        return b
    }

    private func optionalInt(_ map: DataMap, _ key: String, _ path: [String]) throws(LexiconDocumentError) -> Int64? {
        guard let value = map[key] else { return nil }
        guard case .int(let n) = value else { throw error(path + [key], "\"\(key)\" must be an integer") }
        return n
    }

    private func optionalArray(_ map: DataMap, _ key: String, _ path: [String]) throws(LexiconDocumentError) -> [DataValue]? {
        guard let value = map[key] else { return nil }
        guard case .array(let values) = value else { throw error(path + [key], "\"\(key)\" must be an array") }
        return values
    }

    private func optionalStrings(_ map: DataMap, _ key: String, _ path: [String]) throws(LexiconDocumentError) -> [String]? {
        guard let values = try optionalArray(map, key, path) else { return nil }
        var strings: [String] = []
        for (i, value) in values.enumerated() {
            guard case .string(let s) = value else { throw error(path + [key, String(i)], "must be a string") }
            strings.append(s)
        }
        return strings
    }

    /// Reads a pair of non-negative length limits and checks min ≤ max.
    private func lengthRange(
        _ map: DataMap, _ minKey: String, _ maxKey: String, _ path: [String]
    ) throws(LexiconDocumentError) -> (Int?, Int?) {
        var limits: [Int?] = []
        for key in [minKey, maxKey] {
            guard let n = try optionalInt(map, key, path) else {
                limits.append(nil)
                continue
            }
            guard n >= 0, n <= Int64(Int32.max) else { throw error(path + [key], "\"\(key)\" must be between 0 and 2^31-1") }
            limits.append(Int(n))
        }
        if let min = limits[0], let max = limits[1], min > max {
            throw error(path, "\"\(minKey)\" (\(min)) is greater than \"\(maxKey)\" (\(max))")
        }
        return (limits[0], limits[1])
    }

    private func translations(_ map: DataMap, _ key: String, _ path: [String]) throws(LexiconDocumentError) -> [String: String] {
        guard let value = map[key] else { return [:] }
        guard case .map(let entries) = value else { throw error(path + [key], "\"\(key)\" must be an object") }
        var out: [String: String] = [:]
        for (language, text) in entries {
            guard case .string(let s) = text else { throw error(path + [key, language], "must be a string") }
            out[language] = s
        }
        return out
    }
}
