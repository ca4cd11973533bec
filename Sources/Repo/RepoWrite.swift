import ATProto

/// One change asked of a repository, as `applyWrites` carries it.
public enum RepoWrite: Sendable {
    case create(collection: NSID, rkey: RecordKey, record: DataValue)
    case update(collection: NSID, rkey: RecordKey, record: DataValue)
    case delete(collection: NSID, rkey: RecordKey)

    /// The MST key `<collection>/<rkey>`.
    public var path: String {
        switch self {
        case .create(let c, let r, _), .update(let c, let r, _), .delete(let c, let r): return c.string + "/" + r.string
        }
    }
}

/// One change a commit made, as the firehose reports it: `cid` is nil for a
/// delete and `prev` nil for a create.
public struct RepoOperation: Sendable, Equatable {
    /// What happened to the record.
    public enum Action: String, Sendable {
        case create, update, delete
    }

    public let action: Action
    public let path: String
    public let cid: CID?
    public let prev: CID?

    public init(action: Action, path: String, cid: CID?, prev: CID?) {
        self.action = action
        self.path = path
        self.cid = cid
        self.prev = prev
    }
}
