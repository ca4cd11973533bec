import ATProto
import Foundation
import GRDB
import ServiceStorage

/// Reads of the `record` table: the index of every hosted record's CID by
/// `(did, collection, rkey)`, written in the same transaction as each
/// commit. Record reads (`getRecord`, `listRecords`) use it instead of
/// walking the MST from the root; the tree stays the source of truth for
/// sync.
public enum RecordIndex {
    /// The CID of one record and its DAG-CBOR (nil when its block is
    /// missing), or nil when there is no such record: one statement.
    public static func record(did: DID, collection: NSID, rkey: RecordKey, db: Database) throws -> (cid: CID, bytes: [UInt8]?)? {
        let statement = try db.cachedStatement(
            sql: "SELECT r.cid, b.content FROM record r LEFT JOIN blockstore b ON b.did = r.did AND b.cid = r.cid "
                + "WHERE r.did = ? AND r.collection = ? AND r.rkey = ?")
        guard let row = try Row.fetchOne(statement, arguments: [did, collection, rkey]) else { return nil }
        return (try CID(bytes: [UInt8](row["cid"] as Data)), (row["content"] as Data?).map { [UInt8]($0) })
    }

    /// Up to `limit` records of a collection in record-key order (byte
    /// order, as in the MST), after `cursor` (or before it, in reverse),
    /// each with its DAG-CBOR (nil when its block is missing): one
    /// statement, not a query per record.
    public static func list(
        did: DID, collection: NSID, cursor: String?, limit: Int, reverse: Bool, db: Database
    ) throws -> [(rkey: RecordKey, cid: CID, bytes: [UInt8]?)] {
        var arguments: StatementArguments = [did, collection]
        var range = ""
        if let cursor {
            range = reverse ? "AND r.rkey < ? " : "AND r.rkey > ? "
            arguments += [cursor]
        }
        arguments += [limit]
        let sql =
            "SELECT r.rkey, r.cid, b.content FROM record r LEFT JOIN blockstore b ON b.did = r.did AND b.cid = r.cid "
            + "WHERE r.did = ? AND r.collection = ? \(range)ORDER BY r.rkey \(reverse ? "DESC " : "")LIMIT ?"
        return try Row.fetchAll(try db.cachedStatement(sql: sql), arguments: arguments).map { row in
            (row["rkey"], try CID(bytes: [UInt8](row["cid"] as Data)), (row["content"] as Data?).map { [UInt8]($0) })
        }
    }
}
