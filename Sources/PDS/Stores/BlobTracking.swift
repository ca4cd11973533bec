import ATProto
import Foundation
import GRDB
import Repo
import ServiceStorage

/// Keeps `blob_usage` (which records reference which blobs) in step with the
/// records. ``RepoCommits`` collects a commit's references with
/// ``changes(in:did:)`` as it builds the commit, and calls ``apply(_:in:)``
/// inside the commit's transaction, which refuses a record referencing a
/// blob the account never uploaded (the commit then writes nothing).
/// Imports (`importRepo`, `pds repo import`) call ``rebuild(in:did:)``.
public enum BlobTracking {
    /// One written record path and the blobs its new value references (none
    /// for a delete).
    struct PathBlobs: Sendable {
        let collection: NSID
        let rkey: RecordKey
        let blobs: [BlobRef]
    }

    /// What a commit does to `blob_usage`.
    struct Changes: Sendable {
        let did: DID
        let paths: [PathBlobs]

        /// Each referenced blob once.
        var uniqueBlobs: [BlobRef] {
            var seen: Set<CID> = []
            return paths.flatMap(\.blobs).filter { seen.insert($0.ref).inserted }
        }
    }

    // MARK: - Commits

    /// The blob references of `writes`, read from the records alone (the
    /// database is consulted by ``apply(_:in:)``). Throws 400 when a blob
    /// reference is malformed.
    static func changes(in writes: [RepoWrite], did: DID) throws -> Changes {
        var paths: [PathBlobs] = []
        for write in writes {
            switch write {
            case .create(let collection, let rkey, let record), .update(let collection, let rkey, let record):
                paths.append(PathBlobs(collection: collection, rkey: rkey, blobs: try blobs(in: record, strict: true)))
            case .delete(let collection, let rkey):
                paths.append(PathBlobs(collection: collection, rkey: rkey, blobs: []))
            }
        }
        return Changes(did: did, paths: paths)
    }

    /// Checks the referenced blobs against what the account has uploaded
    /// (400 when one was never uploaded by this account, or is referenced
    /// with another MIME type than stored) and replaces the usage rows of
    /// every written path, inside the commit's transaction (so the garbage
    /// collector cannot remove a blob in between).
    static func apply(_ changes: Changes, in tx: WriteTransaction) throws {
        let db = tx.db
        try verify(changes, db: db)
        let remove = try db.cachedStatement(sql: "DELETE FROM blob_usage WHERE did = ? AND collection = ? AND rkey = ?")
        let insert = try db.cachedStatement(
            sql: "INSERT OR IGNORE INTO blob_usage (did, collection, rkey, blob_cid) VALUES (?, ?, ?, ?)")
        for path in changes.paths {
            try remove.execute(arguments: [changes.did, path.collection, path.rkey])
            for blob in path.blobs {
                try insert.execute(arguments: [changes.did, path.collection, path.rkey, blob.ref.string])
            }
        }
    }

    private static func verify(_ changes: Changes, db: Database) throws {
        let lookup = try db.cachedStatement(sql: "SELECT mime_type FROM blob_ref WHERE did = ? AND cid = ?")
        for blob in changes.uniqueBlobs {
            guard let stored = try String.fetchOne(lookup, arguments: [changes.did, blob.ref.string]) else {
                throw XRPCError.invalidRequest("Could not find blob: \(blob.ref.string)")
            }
            guard stored == blob.mimeType else {
                throw XRPCError(
                    .badRequest, "InvalidMimeType",
                    "Referenced Mimetype does not match stored blob. Expected: \(stored), Got: \(blob.mimeType)")
            }
        }
    }

    // MARK: - Imports

    /// Bytes of the blobs stored, each once however many accounts hold it.
    static func storedBytes(_ pool: DatabasePool) async throws -> Int {
        try await pool.read { db in
            try Int.fetchOne(
                db, sql: "SELECT COALESCE(SUM(size), 0) FROM (SELECT MAX(size) AS size FROM blob_ref GROUP BY cid)") ?? 0
        }
    }

    /// Rebuilds every usage row of `did` from its records (after an import),
    /// in the caller's transaction. Malformed blob references in imported
    /// records are skipped, as they are not blobs.
    public static func rebuild(in tx: WriteTransaction, did: DID) throws {
        let db = tx.db
        try db.execute(sql: "DELETE FROM blob_usage WHERE did = ?", arguments: [did])
        let insert = try db.cachedStatement(
            sql: "INSERT OR IGNORE INTO blob_usage (did, collection, rkey, blob_cid) VALUES (?, ?, ?, ?)")
        let rows = try Row.fetchCursor(
            db,
            sql: """
                SELECT r.collection, r.rkey, b.content FROM record r
                JOIN blockstore b ON b.did = r.did AND b.cid = r.cid WHERE r.did = ?
                """,
            arguments: [did])
        while let row = try rows.next() {
            let content: Data = row["content"]
            guard let value = try? DAGCBOR.decode([UInt8](content)) else { continue }
            let collection: String = row["collection"]
            let rkey: String = row["rkey"]
            for blob in (try? blobs(in: value, strict: false)) ?? [] {
                try insert.execute(arguments: [did, collection, rkey, blob.ref.string])
            }
        }
    }

    /// Up to `limit` blobs the records of `did` use, in CID order, after
    /// `cursor`; with `since` (a rev), only those of records written after it.
    static func usedBlobs(did: DID, since: String?, after cursor: String?, limit: Int, in tx: some StoreReading) throws
        -> [String]
    {
        let join = since == nil ? "" : """
            JOIN record r ON r.did = u.did AND r.collection = u.collection AND r.rkey = u.rkey AND r.rev > ?
            """
        var arguments: StatementArguments = since.map { [$0] } ?? []
        arguments += [did, cursor ?? "", limit]
        return try String.fetchAll(
            tx.db,
            sql: "SELECT DISTINCT u.blob_cid FROM blob_usage u \(join) WHERE u.did = ? AND u.blob_cid > ? ORDER BY u.blob_cid LIMIT ?",
            arguments: arguments)
    }

    /// Up to `limit` blobs the records of `did` use that it has not
    /// uploaded, in CID order after `cursor`, each with the path of one
    /// record using it (`listMissingBlobs`).
    static func missingBlobs(did: DID, after cursor: String?, limit: Int, in tx: some StoreReading) throws
        -> [(cid: String, path: String)]
    {
        try Row.fetchAll(
            tx.db,
            sql: """
                SELECT u.blob_cid, MIN(u.collection || '/' || u.rkey) AS path FROM blob_usage u
                WHERE u.did = ? AND u.blob_cid > ?
                AND NOT EXISTS (SELECT 1 FROM blob_ref b WHERE b.did = u.did AND b.cid = u.blob_cid)
                GROUP BY u.blob_cid ORDER BY u.blob_cid LIMIT ?
                """,
            arguments: [did, cursor ?? "", limit]
        ).map { (cid: $0["blob_cid"] as String, path: $0["path"] as String) }
    }

    /// Blobs the records of `did` reference (`expected`) and, of those, the
    /// ones it uploaded (`imported`).
    static func counts(did: DID, in tx: some StoreReading) throws -> (expected: Int, imported: Int) {
        let expected = try Int.fetchOne(
            tx.db, sql: "SELECT COUNT(DISTINCT blob_cid) FROM blob_usage WHERE did = ?", arguments: [did]) ?? 0
        let imported = try Int.fetchOne(
            tx.db,
            sql: """
                SELECT COUNT(DISTINCT u.blob_cid) FROM blob_usage u
                JOIN blob_ref b ON b.did = u.did AND b.cid = u.blob_cid WHERE u.did = ?
                """,
            arguments: [did]) ?? 0
        return (expected, imported)
    }

    /// Releases every blob of an account that is deleted: no record uses
    /// them any more and their grace period is over, so the next collector
    /// pass removes the uploads and the files no other account holds.
    static func releaseAll(did: DID, in tx: WriteTransaction) throws {
        try tx.db.execute(sql: "DELETE FROM blob_usage WHERE did = ?", arguments: [did])
        try tx.db.execute(sql: "UPDATE blob_ref SET created_at = 0 WHERE did = ?", arguments: [did])
    }

    // MARK: - Finding blobs

    /// Every blob reference in a value, in order, walking maps and arrays: a
    /// map with `$type: "blob"` (which, when `strict`, must be well formed)
    /// or a legacy `{cid, mimeType}` map.
    static func blobs(in value: DataValue, strict: Bool) throws(XRPCError) -> [BlobRef] {
        var found: [BlobRef] = []
        try collect(value, strict: strict, into: &found)
        return found
    }

    private static func collect(_ value: DataValue, strict: Bool, into found: inout [BlobRef]) throws(XRPCError) {
        switch value {
        case .array(let items):
            for item in items { try collect(item, strict: strict, into: &found) }
        case .map(let map):
            if case .string("blob")? = map["$type"] {
                do {
                    found.append(try BlobRef(value))
                } catch {
                    if strict { throw XRPCError.invalidRequest("Invalid blob reference: \(error)") }
                }
                return
            }
            if map["$type"] == nil, map.count == 2, map["cid"] != nil, let legacy = try? BlobRef(value) {
                found.append(legacy)
                return
            }
            for (_, child) in map { try collect(child, strict: strict, into: &found) }
        default:
            return
        }
    }
}
