import ATProto

/// One change the feed generator ingests, whichever source it came from: a
/// record created, updated or deleted, or an account's status changing.
public enum IngestEvent: Sendable, Equatable {
    case record(RecordChange)
    case account(did: DID, active: Bool, status: String?)

    /// The account the event concerns.
    public var did: DID {
        switch self {
        case .record(let change): return change.did
        case .account(let did, _, _): return did
        }
    }

    /// The event as an atproto JSON value (how the queue stores it).
    public var dataValue: DataValue {
        switch self {
        case .record(let c):
            var map: DataMap = [
                "kind": "record", "did": .string(c.did.string), "collection": .string(c.collection.string), "rkey": .string(c.rkey.string),
                "operation": .string(c.operation.rawValue),
            ]
            if let cid = c.cid { map["cid"] = .string(cid) }
            if let record = c.record { map["record"] = record }
            return .map(map)
        case .account(let did, let active, let status):
            var map: DataMap = ["kind": "account", "did": .string(did.string), "active": .bool(active)]
            if let status { map["status"] = .string(status) }
            return .map(map)
        }
    }

    /// Reads an event back from ``dataValue``.
    public init(dataValue value: DataValue) throws(FeedGenError) {
        guard let did = value["did"]?.stringValue.flatMap({ try? DID($0) }) else { throw .malformedEvent("event has no valid did") }
        switch value["kind"]?.stringValue {
        case "record":
            guard let collection = value["collection"]?.stringValue, let rkey = value["rkey"]?.stringValue,
                let operation = value["operation"]?.stringValue.flatMap(RecordChange.Operation.init(rawValue:))
            else { throw .malformedEvent("record event lacks collection, rkey or operation") }
            self = .record(
                try RecordChange(
                    did: did.string, collection: collection, rkey: rkey, operation: operation, cid: value["cid"]?.stringValue,
                    record: value["record"]))
        case "account":
            self = .account(did: did, active: value["active"]?.boolValue ?? false, status: value["status"]?.stringValue)
        default:
            throw .malformedEvent("unknown event kind")
        }
    }
}

/// A record written to or deleted from a repository.
public struct RecordChange: Sendable, Equatable {
    /// What happened to the record.
    public enum Operation: String, Sendable {
        case create, update, delete
    }

    public let did: DID
    public let collection: NSID
    public let rkey: RecordKey
    public let operation: Operation
    /// The record's CID (absent for deletes).
    public let cid: String?
    /// The record (absent for deletes).
    public let record: DataValue?

    /// Checks the identifiers; creates and updates need a CID and a record.
    public init(did: String, collection: String, rkey: String, operation: Operation, cid: String?, record: DataValue?)
        throws(FeedGenError)
    {
        guard let parsedDID = try? DID(did) else { throw .malformedEvent("invalid did '\(did.prefix(100))'") }
        guard let parsedCollection = try? NSID(collection) else {
            throw .malformedEvent("invalid collection '\(collection.prefix(100))'")
        }
        guard let parsedRKey = try? RecordKey(rkey) else { throw .malformedEvent("invalid rkey '\(rkey.prefix(100))'") }
        if operation != .delete {
            guard let cid, (try? CID(string: cid)) != nil else { throw .malformedEvent("\(operation.rawValue) without a valid cid") }
            guard record?.mapValue != nil else { throw .malformedEvent("\(operation.rawValue) without a record object") }
        }
        self.did = parsedDID
        self.collection = parsedCollection
        self.rkey = parsedRKey
        self.operation = operation
        self.cid = cid
        self.record = record
    }

    /// `at://did/collection/rkey`.
    public var uri: String {
        ATURI(authority: .did(did), collection: collection, recordKey: rkey).string
    }
}
