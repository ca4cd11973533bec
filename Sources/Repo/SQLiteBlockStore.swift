import ATProto
import Foundation
import GRDB
import MST

/// The blocks of one repository in the service database's `blockstore`
/// table, read as the MST needs them.
public struct SQLiteBlockStore: BlockStore {
    public let did: String
    let reader: any DatabaseReader

    public init(did: String, reader: any DatabaseReader) {
        self.did = did
        self.reader = reader
    }

    public func getBlock(_ cid: CID) throws -> [UInt8]? {
        try reader.read { db in try SQLiteBlockStore.getBlock(cid, did: did, db: db) }
    }

    static func getBlock(_ cid: CID, did: String, db: Database) throws -> [UInt8]? {
        let data = try Data.fetchOne(
            db, sql: "SELECT content FROM blockstore WHERE did = ? AND cid = ?",
            arguments: [did, Data(cid.bytes)])
        return data.map { [UInt8]($0) }
    }
}

/// The blocks of one repository read through a connection that is already
/// open: for use only inside the GRDB read or write closure that provides
/// `db` (which is why it may claim `Sendable`: it never leaves that closure).
/// Server code builds and reads repositories this way, so a whole commit or
/// read is one transaction and no blocking database call runs on Swift's
/// cooperative threads.
public struct DatabaseBlockStore: BlockStore, @unchecked Sendable {
    public let did: String
    let db: Database

    public init(did: String, db: Database) {
        self.did = did
        self.db = db
    }

    public func getBlock(_ cid: CID) throws -> [UInt8]? {
        try SQLiteBlockStore.getBlock(cid, did: did, db: db)
    }
}
