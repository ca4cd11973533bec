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

    /// One record written at a rev, as ``changed(did:after:limit:db:)`` returns it.
    public struct Change: Sendable {
        public let collection: NSID
        public let rkey: RecordKey
        public let cid: CID
        public let rev: String
        /// When this server stored it (an atproto datetime).
        public let indexedAt: String
        public let bytes: [UInt8]?
    }

    /// The records whose current version was written after `rev`, oldest
    /// first, at most `limit` (read-after-write: what an AppView that has
    /// seen `rev` does not show yet); empty when no record is at or before
    /// `rev`, which happens when `rev` is not of this repository's history
    /// (after a migration) and every record would otherwise look new.
    public static func changed(did: DID, after rev: String, limit: Int, db: Database) throws -> [Change] {
        let known = try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM record WHERE did = ? AND rev <= ?)", arguments: [did, rev]) ?? false
        guard known else { return [] }
        let sql =
            "SELECT r.collection, r.rkey, r.cid, r.rev, r.indexed_at, b.content FROM record r "
            + "LEFT JOIN blockstore b ON b.did = r.did AND b.cid = r.cid WHERE r.did = ? AND r.rev > ? ORDER BY r.rev LIMIT ?"
        return try Row.fetchAll(db, sql: sql, arguments: [did, rev, limit]).map { row in
            Change(
                collection: row["collection"], rkey: row["rkey"], cid: try CID(bytes: [UInt8](row["cid"] as Data)), rev: row["rev"],
                indexedAt: row["indexed_at"], bytes: (row["content"] as Data?).map { [UInt8]($0) })
        }
    }
}
