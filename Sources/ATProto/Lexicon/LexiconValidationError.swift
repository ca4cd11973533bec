/// The outcome of validating data that passed: either it was checked against
/// its schema, or the catalog has no schema for it.
public enum LexiconValidationResult: Hashable, Sendable {
    /// The data matches its Lexicon schema.
    case valid
    /// The catalog has no schema for the collection or method, so nothing
    /// beyond the basic shape was checked. A PDS stores such records
    /// unvalidated (the reference PDS reports `validationStatus: unknown`).
    case unknownLexicon
}

/// Why data does not match its Lexicon schema.
///
/// ``path`` says where, in the form the reference implementation uses: the
/// root (`Record`, `Input`, `Output` or `Params`) followed by property names
/// and array indices, e.g. `Record/embed/images/0/alt`. ``message`` is the
/// whole sentence, e.g. `Record/text must not be longer than 300 graphemes`.
public struct LexiconValidationError: Error, Equatable, Sendable, CustomStringConvertible {
    /// What is wrong with the value at ``LexiconValidationError/path``.
    public enum Reason: Equatable, Sendable {
        /// The value has the wrong data type; `expected` says which, e.g.
        /// "a string", "an object".
        case wrongType(expected: String)
        /// A required property is missing.
        case missingProperty(String)
        /// The record's `$type` is missing, not a string, or not the
        /// collection (`found` is the `$type`, if a string).
        case wrongRecordType(expected: String, found: String?)
        /// The collection is not a valid NSID.
        case invalidCollection(String)
        /// The record key is not allowed by the collection's `key`.
        case invalidRecordKey(String, allowed: LexiconRecordKey)
        /// The value differs from the schema's `const` (shown as JSON).
        case notConst(String)
        /// The value is not in the schema's `enum` (values shown as JSON).
        case notInEnum([String])
        /// An integer below `minimum`.
        case lessThanMinimum(Int64)
        /// An integer above `maximum`.
        case greaterThanMaximum(Int64)
        /// Shorter or smaller than the lower limit, in `unit`.
        case tooShort(minimum: Int, unit: LengthUnit)
        /// Longer or larger than the upper limit, in `unit`.
        case tooLong(maximum: Int, unit: LengthUnit)
        /// A string that does not have the required format; `detail` says why.
        case invalidFormat(LexiconStringFormat, detail: String)
        /// A value that is not a well-formed blob reference.
        case invalidBlob(BlobRefError)
        /// A blob whose MIME type is not accepted.
        case blobTypeNotAccepted(mimeType: String, accepted: [String])
        /// A blob larger than `maxSize` (sizes in bytes).
        case blobTooLarge(size: Int64, maxSize: Int64)
        /// A union value with no `$type` string.
        case unionMissingType
        /// A closed union value whose `$type` is not one of the union's refs.
        case unionTypeNotAllowed(found: String, allowed: [String])
        /// The schema refers to a definition the catalog does not have.
        case unresolvedReference(String)
        /// The schema asks for data of a kind no value can have (a ref to a
        /// token, a query, …).
        case unusableSchema(String)
        /// The method is not of the kind asked for (e.g. input validation
        /// of a query), or its body is not JSON.
        case wrongMethod(String)
    }

    /// What is counted by a length limit.
    public enum LengthUnit: String, Hashable, Sendable {
        /// UTF-8 bytes of a string (`minLength` / `maxLength` of a string).
        case utf8Bytes
        /// Graphemes of a string (`minGraphemes` / `maxGraphemes`).
        case graphemes
        /// Bytes of a byte string (`bytes`).
        case bytes
        /// Elements of an array.
        case elements
    }

    /// Where the problem is, e.g. `Record/embed/images/0/alt`.
    public let path: String
    /// What the problem is.
    public let reason: Reason

    /// An error at `path`.
    public init(path: String, reason: Reason) {
        self.path = path
        self.reason = reason
    }

    /// The full message, e.g. `Record/text must not be longer than 300
    /// graphemes`.
    public var message: String {
        switch reason {
        case .wrongType(let expected):
            return "\(path) must be \(expected)"
        case .missingProperty(let name):
            return "\(path) must have the property \"\(name)\""
        case .wrongRecordType(let expected, let found?):
            return "Invalid $type: must be \(expected), got \(found)"
        case .wrongRecordType:
            return "\(path)/$type must be a string"
        case .invalidCollection(let collection):
            return "\"\(SyntaxError.displayForm(of: collection))\" is not a valid collection NSID"
        case .invalidRecordKey(let key, let allowed):
            return "Record key \"\(SyntaxError.displayForm(of: key))\" is not allowed for this collection (key type \(allowed))"
        case .notConst(let value):
            return "\(path) must be \(value)"
        case .notInEnum(let values):
            return "\(path) must be one of (\(values.joined(separator: "|")))"
        case .lessThanMinimum(let minimum):
            return "\(path) can not be less than \(minimum)"
        case .greaterThanMaximum(let maximum):
            return "\(path) can not be greater than \(maximum)"
        case .tooShort(let minimum, .utf8Bytes):
            return "\(path) must not be shorter than \(minimum) bytes of UTF-8"
        case .tooLong(let maximum, .utf8Bytes):
            return "\(path) must not be longer than \(maximum) bytes of UTF-8"
        case .tooShort(let minimum, .graphemes):
            return "\(path) must not be shorter than \(minimum) graphemes"
        case .tooLong(let maximum, .graphemes):
            return "\(path) must not be longer than \(maximum) graphemes"
        case .tooShort(let minimum, .bytes):
            return "\(path) must not be smaller than \(minimum) bytes"
        case .tooLong(let maximum, .bytes):
            return "\(path) must not be larger than \(maximum) bytes"
        case .tooShort(let minimum, .elements):
            return "\(path) must not have fewer than \(minimum) elements"
        case .tooLong(let maximum, .elements):
            return "\(path) must not have more than \(maximum) elements"
        case .invalidFormat(let format, let detail):
            return "\(path) must be \(format.expectation) (\(detail))"
        case .invalidBlob(let error):
            return "\(path) must be a blob reference (\(error))"
        case .blobTypeNotAccepted(let mimeType, let accepted):
            return "\(path) has MIME type \(mimeType), which is not accepted here (accepted: \(accepted.joined(separator: ", ")))"
        case .blobTooLarge(let size, let maxSize):
            return "\(path) is a blob of \(size) bytes, larger than the maximum of \(maxSize) bytes"
        case .unionMissingType:
            return "\(path) must be an object which includes the \"$type\" property"
        case .unionTypeNotAllowed(let found, let allowed):
            return "\(path) $type must be one of \(allowed.joined(separator: ", ")), not \(found)"
        case .unresolvedReference(let name):
            return "\(path): the schema refers to \(name), which is not in the Lexicon catalog"
        case .unusableSchema(let problem):
            return "\(path): \(problem)"
        case .wrongMethod(let problem):
            return problem
        }
    }

    public var description: String { message }
}
