import ATProto

/// One Jetstream message (`{did, time_us, kind: commit|identity|account, …}`)
/// read into an ``IngestEvent``.
public struct JetstreamEvent: Sendable, Equatable {
    /// The message's cursor: unix microseconds.
    public let timeMicroseconds: Int64
    /// The change, or nil for kinds the feed generator has no use for
    /// (`identity`).
    public let event: IngestEvent?

    /// Parses a message's JSON.
    /// - Throws: ``FeedGenError/malformedEvent(_:)`` naming what is wrong.
    public init(json: some Collection<UInt8>) throws(FeedGenError) {
        let value: DataValue
        do {
            value = try ATProtoJSON.decode(json, mode: .lenient)
        } catch {
            throw .malformedEvent("not JSON: \(error)")
        }
        guard value.mapValue != nil else { throw .malformedEvent("not a JSON object") }
        guard let did = value["did"]?.stringValue.flatMap({ try? DID($0) }) else { throw .malformedEvent("missing or invalid did") }
        guard let time = value["time_us"]?.intValue, time > 0 else { throw .malformedEvent("missing or invalid time_us") }
        timeMicroseconds = time
        switch value["kind"]?.stringValue {
        case "commit":
            guard let commit = value["commit"], commit.mapValue != nil else { throw .malformedEvent("commit event without commit") }
            guard let operation = commit["operation"]?.stringValue.flatMap(RecordChange.Operation.init(rawValue:)) else {
                throw .malformedEvent("commit with unknown operation")
            }
            guard let collection = commit["collection"]?.stringValue, let rkey = commit["rkey"]?.stringValue else {
                throw .malformedEvent("commit without collection or rkey")
            }
            event = .record(
                try RecordChange(
                    did: did.string, collection: collection, rkey: rkey, operation: operation, cid: commit["cid"]?.stringValue,
                    record: operation == .delete ? nil : commit["record"]))
        case "account":
            guard let account = value["account"], account.mapValue != nil, let active = account["active"]?.boolValue else {
                throw .malformedEvent("account event without account.active")
            }
            event = .account(did: did, active: active, status: account["status"]?.stringValue)
        case "identity":
            event = nil
        default:
            throw .malformedEvent("unknown kind")
        }
    }
}
