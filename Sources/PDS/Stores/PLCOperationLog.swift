import ATProto
import Foundation
import GRDB
import ServiceStorage

/// The `plc_operation` table: operations queued for the PLC directory, in
/// order per DID, and the last known operation of each DID (the `prev` of
/// the next one).
enum PLCOperationLog {
    /// Queues `operation` for `did` inside the caller's transaction. With no
    /// directory configured it is stored as `unsubmitted`.
    static func append(_ operation: DataValue, did: DID, directoryConfigured: Bool, in tx: WriteTransaction) throws {
        let db = tx.db
        try db.execute(
            sql: """
                INSERT OR IGNORE INTO plc_operation (cid, did, operation, created_at, state)
                VALUES (?, ?, ?, ?, ?)
                """,
            arguments: [
                PLCOperation.cid(operation).string, did, Data(DAGCBOR.encode(operation)), AccountStore.now(),
                directoryConfigured ? "pending" : "unsubmitted",
            ])
    }

    /// The newest operation stored for `did` that the directory did not reject.
    static func latest(did: DID, in tx: some StoreReading) throws -> DataValue? {
        let db = tx.db
        guard
            let bytes = try Data.fetchOne(
                db, sql: "SELECT operation FROM plc_operation WHERE did = ? AND state != 'rejected' ORDER BY id DESC LIMIT 1",
                arguments: [did])
        else { return nil }
        return try DAGCBOR.decode([UInt8](bytes))
    }

    /// One queued operation.
    struct Pending: Sendable {
        let cid: String
        let did: DID
        let operation: DataValue
        let attempts: Int
    }

    /// The first pending operation of each DID whose attempt is due (later
    /// ones wait for it: the chain is submitted in order).
    static func due(now: Int, limit: Int = 50, in tx: some StoreReading) throws -> [Pending] {
        try Row.fetchAll(
            tx.db,
            sql: """
                SELECT p.cid, p.did, p.operation, p.attempts FROM plc_operation p
                WHERE p.state = 'pending' AND p.next_attempt_at <= ?
                AND NOT EXISTS (SELECT 1 FROM plc_operation q WHERE q.did = p.did AND q.state = 'pending' AND q.id < p.id)
                ORDER BY p.id LIMIT ?
                """,
            arguments: [now, limit]
        ).map { row in
            let bytes: Data = row["operation"]
            return Pending(cid: row["cid"], did: row["did"], operation: try DAGCBOR.decode([UInt8](bytes)), attempts: row["attempts"])
        }
    }

    /// The pending operations of one DID, in order.
    static func pending(did: DID, in tx: some StoreReading) throws -> [Pending] {
        try Row.fetchAll(
            tx.db, sql: "SELECT cid, did, operation, attempts FROM plc_operation WHERE did = ? AND state = 'pending' ORDER BY id",
            arguments: [did]
        ).map { row in
            let bytes: Data = row["operation"]
            return Pending(cid: row["cid"], did: row["did"], operation: try DAGCBOR.decode([UInt8](bytes)), attempts: row["attempts"])
        }
    }

    static func markSubmitted(cid: String, in tx: WriteTransaction) throws {
        let db = tx.db
        try db.execute(sql: "UPDATE plc_operation SET state = 'submitted', last_error = NULL WHERE cid = ?", arguments: [cid])
    }

    static func markRejected(cid: String, error: String, in tx: WriteTransaction) throws {
        let db = tx.db
        try db.execute(sql: "UPDATE plc_operation SET state = 'rejected', last_error = ? WHERE cid = ?", arguments: [error, cid])
    }

    static func markFailed(cid: String, error: String, nextAttempt: Int, in tx: WriteTransaction) throws {
        let db = tx.db
        try db.execute(
            sql: "UPDATE plc_operation SET attempts = attempts + 1, next_attempt_at = ?, last_error = ? WHERE cid = ?",
            arguments: [nextAttempt, error, cid])
    }

    /// Queues the genesis operations of accounts created before this table
    /// existed (their `account.plc_genesis`), so they get submitted too.
    static func backfillGenesis(directoryConfigured: Bool, in tx: WriteTransaction) throws -> Int {
        let db = tx.db
        let rows = try Row.fetchAll(
            db,
            sql: """
                SELECT a.did, a.plc_genesis FROM account a WHERE a.plc_genesis IS NOT NULL AND a.status != 'deleted'
                AND NOT EXISTS (SELECT 1 FROM plc_operation p WHERE p.did = a.did)
                """
        ).map { ($0["did"] as DID, $0["plc_genesis"] as Data) }
        for (did, bytes) in rows {
            try append(try DAGCBOR.decode([UInt8](bytes)), did: did, directoryConfigured: directoryConfigured, in: tx)
        }
        return rows.count
    }
}
