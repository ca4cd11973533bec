import ATProto
import Foundation
import GRDB

/// Reads of the `record` table: the index of every hosted record's CID by
/// `(did, collection, rkey)`, written in the same transaction as each
/// commit. Record reads (`getRecord`, `listRecords`) use it instead of
/// walking the MST from the root; the tree stays the source of truth for
/// sync.
public enum RecordIndex {
    /// The CID of one record, or nil when there is none.
    public static func cid(did: String, collection: String, rkey: String, db: Database) throws -> CID? {
        let statement = try db.cachedStatement(sql: "SELECT cid FROM record WHERE did = ? AND collection = ? AND rkey = ?")
        return try Data.fetchOne(statement, arguments: [did, collection, rkey]).map { try CID(bytes: [UInt8]($0)) }
    }

    /// Up to `limit` records of a collection in record-key order (byte
    /// order, as in the MST), after `cursor` (or before it, in reverse).
    public static func list(
        did: String, collection: String, cursor: String?, limit: Int, reverse: Bool, db: Database
    ) throws -> [(rkey: String, cid: CID)] {
        let sql: String
        var arguments: StatementArguments = [did, collection]
        switch (cursor, reverse) {
        case (nil, false): sql = "SELECT rkey, cid FROM record WHERE did = ? AND collection = ? ORDER BY rkey LIMIT ?"
        case (nil, true): sql = "SELECT rkey, cid FROM record WHERE did = ? AND collection = ? ORDER BY rkey DESC LIMIT ?"
        case (.some(let after), false):
            sql = "SELECT rkey, cid FROM record WHERE did = ? AND collection = ? AND rkey > ? ORDER BY rkey LIMIT ?"
            arguments += [after]
        case (.some(let before), true):
            sql = "SELECT rkey, cid FROM record WHERE did = ? AND collection = ? AND rkey < ? ORDER BY rkey DESC LIMIT ?"
            arguments += [before]
        }
        arguments += [limit]
        return try Row.fetchAll(try db.cachedStatement(sql: sql), arguments: arguments).map { row in
            (row["rkey"], try CID(bytes: [UInt8](row["cid"] as Data)))
        }
    }

    /// A block of a repository (a record's DAG-CBOR), or nil.
    public static func block(_ cid: CID, did: String, db: Database) throws -> [UInt8]? {
        try SQLiteBlockStore.getBlock(cid, did: did, db: db)
    }
}
