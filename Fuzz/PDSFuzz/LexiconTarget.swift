import ATProto
import LexiconFiles

extension FuzzTargets {
    /// The bundled Lexicon catalog (app.bsky, com.atproto, net.atrarium).
    static let catalog: LexiconCatalog = {
        do {
            return try LexiconCatalog(jsonDocuments: LexiconFiles.all())
        } catch {
            preconditionFailure("the bundled Lexicons do not load: \(error)")
        }
    }()

    /// Lexicon validation of records, as createRecord and the feed
    /// generator's ingest apply it: the input is a JSON record whose `$type`
    /// picks the schema. A record that validates must still validate after
    /// a DAG-CBOR round trip (what is stored is what was checked).
    static let lexicon = FuzzTarget(
        name: "lexicon", summary: "Lexicon validation of JSON records against the bundled schemas", prepare: { _ = catalog.count }
    ) { bytes in
        guard let record = try? ATProtoJSON.decode(bytes), case .string(let type)? = record["$type"] else { return }
        guard let result = try? catalog.validateRecord(collection: type, record: record) else { return }
        guard result == .valid else { return }
        guard let stored = try? DAGCBOR.decode(DAGCBOR.encode(record)) else {
            preconditionFailure("a valid record does not survive DAG-CBOR")
        }
        precondition((try? catalog.validateRecord(collection: type, record: stored)) == .valid, "a valid record stops validating after storage")
    }
}
