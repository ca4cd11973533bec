import ATProto
import Foundation
import GRDB
import MST
import ServiceStorage

/// The repository tables read and written inside a service transaction
/// (``StoreReading``, ``WriteTransaction``), for callers that change other
/// stores in the same transaction (account creation, deletion, imports) or
/// read them alongside.
extension RepoStorage {
    /// The current commit of a repository, or nil when it is not hosted.
    public static func currentCommit(did: DID, in tx: some StoreReading) throws -> (cid: CID, rev: String)? {
        try currentCommit(did: did, db: tx.db)
    }

    /// The repository at its current commit, valid only inside the
    /// transaction (see ``repository(did:db:nodeCache:)``, which also says
    /// what `nodeCache` is for).
    public static func repository(did: DID, in tx: some StoreReading, nodeCache: MSTNodeCache? = nil) throws -> Repository? {
        try repository(did: did, db: tx.db, nodeCache: nodeCache)
    }

    /// Stores a commit built on the current one.
    public static func apply(_ result: CommitResult, in tx: WriteTransaction) throws {
        try apply(result, db: tx.db)
    }

    /// The collections a repository holds records in, in order.
    public static func collections(did: DID, in tx: some StoreReading) throws -> [NSID] {
        try NSID.fetchAll(
            tx.db.cachedStatement(sql: "SELECT DISTINCT collection FROM record WHERE did = ? ORDER BY collection"),
            arguments: [did])
    }

    /// How many blocks and records a repository stores.
    public static func counts(did: DID, in tx: some StoreReading) throws -> (blocks: Int, records: Int) {
        let blocks = try Int.fetchOne(tx.db, sql: "SELECT COUNT(*) FROM blockstore WHERE did = ?", arguments: [did]) ?? 0
        let records = try Int.fetchOne(tx.db, sql: "SELECT COUNT(*) FROM record WHERE did = ?", arguments: [did]) ?? 0
        return (blocks, records)
    }

    /// Removes a repository: its blocks, record index and root.
    public static func delete(did: DID, in tx: WriteTransaction) throws {
        for table in ["blockstore", "record", "repo_root"] {
            try tx.db.execute(sql: "DELETE FROM \(table) WHERE did = ?", arguments: [did])
        }
    }
}

extension DatabaseBlockStore {
    /// The blocks of `did`'s repository as the transaction sees them, valid
    /// only inside it.
    public init(did: DID, in tx: some StoreReading) {
        self.init(did: did, db: tx.db)
    }
}

extension RecordIndex {
    /// ``record(did:collection:rkey:db:)`` inside a service transaction.
    public static func record(did: DID, collection: NSID, rkey: RecordKey, in tx: some StoreReading) throws
        -> (cid: CID, bytes: [UInt8]?)?
    {
        try record(did: did, collection: collection, rkey: rkey, db: tx.db)
    }

    /// ``list(did:collection:cursor:limit:reverse:db:)`` inside a service
    /// transaction.
    public static func list(
        did: DID, collection: NSID, cursor: String?, limit: Int, reverse: Bool, in tx: some StoreReading
    ) throws -> [(rkey: RecordKey, cid: CID, bytes: [UInt8]?)] {
        try list(did: did, collection: collection, cursor: cursor, limit: limit, reverse: reverse, db: tx.db)
    }
}
