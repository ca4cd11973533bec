import ATProto
import Foundation
import GRDB
import MST
import ServiceStorage

/// The blocks of one repository in the service database's `blockstore`
/// table, read as the MST needs them.
public struct SQLiteBlockStore: BlockStore {
    public let did: DID
    let reader: any DatabaseReader

    public init(did: DID, reader: any DatabaseReader) {
        self.did = did
        self.reader = reader
    }

    public func getBlock(_ cid: CID) throws -> [UInt8]? {
        try reader.read { db in try SQLiteBlockStore.getBlock(cid, did: did, db: db) }
    }

    static func getBlock(_ cid: CID, did: DID, db: Database) throws -> [UInt8]? {
        let statement = try db.cachedStatement(sql: "SELECT content FROM blockstore WHERE did = ? AND cid = ?")
        return try Data.fetchOne(statement, arguments: [did, Data(cid.bytes)]).map { [UInt8]($0) }
    }
}

/// The blocks of one repository read through a connection that is already
/// open: for use only inside the GRDB read or write closure that provides
/// `db` (which is why it may claim `Sendable`: it never leaves that closure).
/// Server code builds and reads repositories this way, so a whole commit or
/// read is one transaction and no blocking database call runs on Swift's
/// cooperative threads.
///
/// Blocks it has read, and the MST nodes decoded from them, are remembered
/// for the life of the value (one closure): building a commit reads the
/// same MST nodes for the writes, the diff and the proof. Given a node
/// cache, nodes are also looked up there first and kept there (the
/// writer's commits keep each repository's recent paths this way).
public struct DatabaseBlockStore: BlockStore, @unchecked Sendable {
    public let did: DID
    let db: Database
    private let memo = Memo()

    final class Memo {
        var blocks: [CID: [UInt8]] = [:]
    }

    /// Decoded nodes, kept as long as the blocks' bytes.
    public let nodeMemo: MSTNodeMemo?

    public init(did: DID, db: Database, nodeCache: MSTNodeCache? = nil) {
        self.did = did
        self.db = db
        nodeMemo = MSTNodeMemo(shared: nodeCache)
    }

    public func getBlock(_ cid: CID) throws -> [UInt8]? {
        if let bytes = memo.blocks[cid] { return bytes }
        if let bytes = nodeMemo?.shared?.bytes(cid) { return bytes }
        let bytes = try SQLiteBlockStore.getBlock(cid, did: did, db: db)
        if let bytes { memo.blocks[cid] = bytes }
        return bytes
    }
}
