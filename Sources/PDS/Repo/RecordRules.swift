import ATProto

/// What a record must be before it is written: a map whose `$type` is its
/// collection (added when missing, as the reference PDS does), valid against
/// its Lexicon when the server knows one (`validate` unset), required to be
/// (`validate: true`) or not checked (`validate: false`).
enum RecordRules {
    struct Prepared: Sendable {
        let record: DataValue
        /// `valid`, `unknown` (no schema for the collection), or nil when
        /// validation was switched off.
        let validationStatus: String?
    }

    static func prepare(collection: NSID, rkey: RecordKey? = nil, record: DataValue, validate: Bool?, services: PDSServices) throws(XRPCError)
        -> Prepared
    {
        guard case .map(var map) = record else { throw .invalidRequest("Invalid record: a record must be an object") }
        if map["$type"] == nil { map["$type"] = .string(collection.string) }
        guard case .string(let type)? = map["$type"], type == collection.string else {
            throw .invalidRequest("Invalid $type: expected \(collection), got \(map["$type"].map { "\($0)" } ?? "nothing")")
        }
        if validate == false { return Prepared(record: .map(map), validationStatus: nil) }
        let record = DataValue.map(map)
        let result: LexiconValidationResult
        do {
            result = try services.lexicons.validateRecord(collection: collection.string, rkey: rkey?.string, record: record)
        } catch {
            throw .invalidRequest("Invalid \(collection) record: \(error.message)")
        }
        switch result {
        case .valid:
            if let why = services.recordChecks.failure(collection: collection, record: record) {
                throw .invalidRequest("Invalid \(collection) record: \(why)")
            }
            return Prepared(record: record, validationStatus: "valid")
        case .unknownLexicon:
            if validate == true { throw .invalidRequest("Lexicon not found: \(collection)") }
            return Prepared(record: record, validationStatus: "unknown")
        }
    }
}
