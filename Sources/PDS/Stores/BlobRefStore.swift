import ATProto
import Foundation
import GRDB
import ServiceStorage

/// The `blob_ref` table: which account uploaded which blob (its CID as text),
/// its MIME type and size, and when (unix seconds), from which the garbage
/// collector's grace period runs. The bytes are the ``BlobStore``'s;
/// ``BlobTracking`` keeps which records use them.
enum BlobRefStore {
    /// The MIME type `did` uploaded the blob with, or nil when it did not.
    static func mimeType(did: DID, cid: CID, in tx: some StoreReading) throws -> String? {
        try String.fetchOne(tx.db, sql: "SELECT mime_type FROM blob_ref WHERE did = ? AND cid = ?", arguments: [did, cid.string])
    }

    /// Records an upload of a blob `did` had not uploaded before.
    static func insert(did: DID, cid: CID, mimeType: String, size: Int, at time: Int, in tx: WriteTransaction) throws {
        try tx.db.execute(
            sql: "INSERT INTO blob_ref (did, cid, mime_type, size, created_at) VALUES (?, ?, ?, ?, ?)",
            arguments: [did, cid.string, mimeType, size, time])
    }

    /// Restarts the grace period of a blob uploaded again.
    static func touch(did: DID, cid: CID, at time: Int, in tx: WriteTransaction) throws {
        try tx.db.execute(sql: "UPDATE blob_ref SET created_at = ? WHERE did = ? AND cid = ?", arguments: [time, did, cid.string])
    }

    /// The bytes of blobs `did` has uploaded.
    static func usedBytes(did: DID, in tx: some StoreReading) throws -> Int {
        try Int.fetchOne(tx.db, sql: "SELECT COALESCE(SUM(size), 0) FROM blob_ref WHERE did = ?", arguments: [did]) ?? 0
    }

    /// Whether any account holds the blob.
    static func isHeld(cid: CID, in tx: some StoreReading) throws -> Bool {
        try Bool.fetchOne(tx.db, sql: "SELECT EXISTS (SELECT 1 FROM blob_ref WHERE cid = ?)", arguments: [cid.string]) ?? true
    }

    /// Up to `limit` uploads no record uses that were made at or before
    /// `cutoff`, oldest first.
    static func collectable(atOrBefore cutoff: Int, limit: Int, in tx: some StoreReading) throws -> [(did: DID, cid: CID)] {
        try Row.fetchAll(
            tx.db,
            sql: """
                SELECT did, cid FROM blob_ref b WHERE created_at <= ?
                AND NOT EXISTS (SELECT 1 FROM blob_usage u WHERE u.did = b.did AND u.blob_cid = b.cid)
                ORDER BY created_at LIMIT ?
                """,
            arguments: [cutoff, limit]
        ).map { (did: $0["did"] as DID, cid: try CID(string: $0["cid"] as String)) }
    }

    /// Deletes one upload if it is still unused and made at or before
    /// `cutoff`; returns whether it did.
    static func deleteIfCollectable(did: DID, cid: CID, cutoff: Int, in tx: WriteTransaction) throws -> Bool {
        try tx.db.execute(
            sql: """
                DELETE FROM blob_ref WHERE did = ? AND cid = ? AND created_at <= ?
                AND NOT EXISTS (SELECT 1 FROM blob_usage u WHERE u.did = blob_ref.did AND u.blob_cid = blob_ref.cid)
                """,
            arguments: [did, cid.string, cutoff])
        return tx.db.changesCount > 0
    }
}
