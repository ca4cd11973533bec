import ATProto

/// What a record must be before it is written: a map whose `$type` is its
/// collection (added when missing, as the reference PDS does).
enum RecordRules {
    struct Prepared: Sendable {
        let record: DataValue
        /// `valid`, `unknown` (no schema for the collection), or nil when
        /// validation was switched off.
        let validationStatus: String?
    }

    static func prepare(collection: String, record: DataValue, validate: Bool?, services: PDSServices) throws(XRPCError)
        -> Prepared
    {
        guard case .map(var map) = record else { throw .invalidRequest("Invalid record: a record must be an object") }
        if map["$type"] == nil { map["$type"] = .string(collection) }
        guard case .string(let type)? = map["$type"], type == collection else {
            throw .invalidRequest("Invalid $type: expected \(collection), got \(map["$type"].map { "\($0)" } ?? "nothing")")
        }
        if validate == false { return Prepared(record: .map(map), validationStatus: nil) }
        if validate == true {
            throw .invalidRequest("Lexicon not found: \(collection) (validation of records is not available yet)")
        }
        return Prepared(record: .map(map), validationStatus: "unknown")
    }
}
