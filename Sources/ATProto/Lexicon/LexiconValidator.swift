/// Checks a data-model value against a compiled schema node of a
/// ``LexiconSchemaTable``, throwing at the first problem.
///
/// The path (`Record/embed/images/0`) is kept as a stack of components and
/// only turned into a string when there is an error.
struct LexiconValidator {
    private enum PathComponent {
        case key(String)
        case index(Int)
    }

    private let nodes: [LexiconSchemaTable.Node]
    private let root: String
    private var path: [PathComponent] = []

    init(table: LexiconSchemaTable, root: String) {
        self.nodes = table.nodes
        self.root = root
        path.reserveCapacity(8)
    }

    /// The current path as the reference implementation writes it.
    private var pathString: String {
        var out = root
        for component in path {
            switch component {
            case .key(let key): out += "/" + key
            case .index(let index): out += "/" + String(index)
            }
        }
        return out
    }

    private func fail(_ reason: LexiconValidationError.Reason) -> LexiconValidationError {
        LexiconValidationError(path: pathString, reason: reason)
    }

    mutating func validate(_ value: DataValue, node index: Int) throws(LexiconValidationError) {
        switch nodes[index] {
        case .null:
            guard case .null = value else { throw fail(.wrongType(expected: "null")) }
        case .boolean(let schema):
            guard case .bool(let b) = value else { throw fail(.wrongType(expected: "a boolean")) }
            if let constValue = schema.constValue, b != constValue { throw fail(.notConst(String(constValue))) }
        case .integer(let schema):
            guard case .int(let n) = value else { throw fail(.wrongType(expected: "an integer")) }
            try check(n, schema)
        case .string(let schema):
            guard case .string(let s) = value else { throw fail(.wrongType(expected: "a string")) }
            try check(s, schema)
        case .bytes(let schema):
            guard case .bytes(let bytes) = value else { throw fail(.wrongType(expected: "a byte array")) }
            if let min = schema.minLength, bytes.count < min { throw fail(.tooShort(minimum: min, unit: .bytes)) }
            if let max = schema.maxLength, bytes.count > max { throw fail(.tooLong(maximum: max, unit: .bytes)) }
        case .cidLink:
            guard case .link = value else { throw fail(.wrongType(expected: "a CID link")) }
        case .blob(let schema):
            try check(blob: value, schema)
        case .array(let schema):
            guard case .array(let elements) = value else { throw fail(.wrongType(expected: "an array")) }
            if let min = schema.minLength, elements.count < min { throw fail(.tooShort(minimum: min, unit: .elements)) }
            if let max = schema.maxLength, elements.count > max { throw fail(.tooLong(maximum: max, unit: .elements)) }
            for (i, element) in elements.enumerated() {
                path.append(.index(i))
                try validate(element, node: schema.items)
                path.removeLast()
            }
        case .object(let schema):
            guard case .map(let map) = value else { throw fail(.wrongType(expected: "an object")) }
            try check(map, schema)
        case .union(let schema):
            guard case .map(let map) = value, case .string(let type)? = map["$type"] else {
                throw fail(.unionMissingType)
            }
            for member in schema.members where member.typeName == type || member.alternateName == type {
                try validate(value, node: member.node)
                return
            }
            if schema.closed {
                throw fail(.unionTypeNotAllowed(found: SyntaxError.displayForm(of: type), allowed: schema.members.map(\.typeName)))
            }
        // An open union accepts other types unchecked.
        case .unknown:
            // Any object, but not a blob (nor bytes or a link, which are
            // not maps).
            guard case .map(let map) = value else { throw fail(.wrongType(expected: "an object")) }
            if case .string("blob")? = map["$type"] { throw fail(.wrongType(expected: "an object, not a blob")) }
        case .unresolved(let name):
            throw fail(.unresolvedReference(name))
        case .unusable(let problem):
            throw fail(.unusableSchema(problem))
        }
    }

    /// Checks an object's properties, walking the schema's properties and
    /// the map's entries together (both are in canonical key order).
    private mutating func check(_ map: DataMap, _ schema: LexiconSchemaTable.ObjectNode) throws(LexiconValidationError) {
        let entries = map.entries
        var i = 0
        for property in schema.properties {
            while i < entries.count, DataMap.canonicalOrder(entries[i].key, property.name) { i += 1 }
            guard i < entries.count, entries[i].key == property.name else {
                if property.required { throw fail(.missingProperty(property.name)) }
                continue
            }
            let value = entries[i].value
            if property.nullable, case .null = value { continue }
            path.append(.key(property.name))
            try validate(value, node: property.node)
            path.removeLast()
        }
    }

    private func check(_ n: Int64, _ schema: LexiconInteger) throws(LexiconValidationError) {
        if let constValue = schema.constValue, n != constValue { throw fail(.notConst(String(constValue))) }
        if let values = schema.enumValues, !values.contains(n) { throw fail(.notInEnum(values.map { String($0) })) }
        if let maximum = schema.maximum, n > maximum { throw fail(.greaterThanMaximum(maximum)) }
        if let minimum = schema.minimum, n < minimum { throw fail(.lessThanMinimum(minimum)) }
    }

    private func check(_ s: String, _ schema: LexiconString) throws(LexiconValidationError) {
        if let constValue = schema.constValue, s != constValue { throw fail(.notConst(constValue)) }
        if let values = schema.enumValues, !values.contains(s) { throw fail(.notInEnum(values)) }
        let bytes = s.utf8.count
        if let min = schema.minLength, bytes < min { throw fail(.tooShort(minimum: min, unit: .utf8Bytes)) }
        if let max = schema.maxLength, bytes > max { throw fail(.tooLong(maximum: max, unit: .utf8Bytes)) }
        // A grapheme has at least one byte, so counting graphemes (slow) is
        // only needed when the byte count alone does not decide.
        var graphemes: Int?
        if let min = schema.minGraphemes {
            if bytes < min { throw fail(.tooShort(minimum: min, unit: .graphemes)) }
            let count = s.count
            graphemes = count
            if count < min { throw fail(.tooShort(minimum: min, unit: .graphemes)) }
        }
        if let max = schema.maxGraphemes, bytes > max {
            if (graphemes ?? s.count) > max { throw fail(.tooLong(maximum: max, unit: .graphemes)) }
        }
        if let format = schema.format, let problem = format.problem(with: s) {
            throw fail(.invalidFormat(format, detail: problem))
        }
    }

    private func check(blob value: DataValue, _ schema: LexiconBlob) throws(LexiconValidationError) {
        guard case .map = value else { throw fail(.wrongType(expected: "a blob reference")) }
        let blob: BlobRef
        do {
            blob = try BlobRef(value)
        } catch {
            throw fail(.invalidBlob(error))
        }
        if !schema.accepts(mimeType: blob.mimeType) {
            throw fail(.blobTypeNotAccepted(mimeType: SyntaxError.displayForm(of: blob.mimeType), accepted: schema.accept ?? []))
        }
        // A legacy reference has no size to check.
        if let maxSize = schema.maxSize, !blob.isLegacy, blob.size > maxSize {
            throw fail(.blobTooLarge(size: blob.size, maxSize: maxSize))
        }
    }
}
