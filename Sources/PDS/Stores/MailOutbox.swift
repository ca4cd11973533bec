import Foundation
import GRDB
import ServiceStorage

/// The `mail_outbox` table: messages queued for the SMTP server, each
/// written in the transaction that issued what it carries, and tried until
/// the server takes it (see ``MailDispatcher``).
enum MailOutbox {
    /// One message waiting for its next attempt.
    struct Pending: Sendable {
        let id: Int64
        let kind: String
        let recipient: String
        let message: [UInt8]
        let attempts: Int
        let createdAt: Int
    }

    /// Queues a rendered message, due now.
    static func append(kind: String, recipient: String, messageID: String, message: [UInt8], now: Int, in tx: WriteTransaction) throws {
        try tx.db.execute(
            sql: """
                INSERT INTO mail_outbox (kind, recipient, message_id, message, created_at, next_attempt_at)
                VALUES (?, ?, ?, ?, ?, ?)
                """,
            arguments: [kind, recipient, messageID, Data(message), now, now])
    }

    /// Drops the pending messages of `kind` to `recipient` (a new token
    /// replaced the one they carry): state `superseded`.
    static func supersede(kind: String, recipient: String, now: Int, in tx: WriteTransaction) throws {
        try tx.db.execute(
            sql: """
                UPDATE mail_outbox SET state = 'superseded', message = NULL, finished_at = ?
                WHERE state = 'pending' AND kind = ? AND recipient = ?
                """,
            arguments: [now, kind, recipient])
    }

    /// Moves the next attempt of every pending message due before
    /// `nextAttempt` to it, counting no attempt (the server is down: trying
    /// each would only wait out each one's timeout).
    static func postponeDue(before nextAttempt: Int, in tx: WriteTransaction) throws {
        try tx.db.execute(
            sql: "UPDATE mail_outbox SET next_attempt_at = ? WHERE state = 'pending' AND next_attempt_at < ?",
            arguments: [nextAttempt, nextAttempt])
    }

    /// The pending messages whose attempt is due, oldest first.
    static func due(now: Int, limit: Int = 20, in tx: some StoreReading) throws -> [Pending] {
        try Row.fetchAll(
            tx.db,
            sql: """
                SELECT id, kind, recipient, message, attempts, created_at FROM mail_outbox
                WHERE state = 'pending' AND next_attempt_at <= ? ORDER BY id LIMIT ?
                """,
            arguments: [now, limit]
        ).map { row in
            let bytes: Data = row["message"]
            return Pending(
                id: row["id"], kind: row["kind"], recipient: row["recipient"], message: [UInt8](bytes), attempts: row["attempts"],
                createdAt: row["created_at"])
        }
    }

    /// The server took the message: its bytes (and the token in them) go.
    static func markSent(id: Int64, now: Int, in tx: WriteTransaction) throws {
        try tx.db.execute(
            sql: "UPDATE mail_outbox SET state = 'sent', message = NULL, finished_at = ?, attempts = attempts + 1, last_error = NULL WHERE id = ?",
            arguments: [now, id])
    }

    /// A failure worth another attempt at `nextAttempt`.
    static func markRetry(id: Int64, error: String, nextAttempt: Int, in tx: WriteTransaction) throws {
        try tx.db.execute(
            sql: "UPDATE mail_outbox SET attempts = attempts + 1, last_error = ?, next_attempt_at = ? WHERE id = ?",
            arguments: [error, nextAttempt, id])
    }

    /// Given up: refused for good, or retried for too long.
    static func markFailed(id: Int64, error: String, now: Int, in tx: WriteTransaction) throws {
        try tx.db.execute(
            sql: """
                UPDATE mail_outbox SET state = 'failed', message = NULL, finished_at = ?, attempts = attempts + 1, last_error = ?
                WHERE id = ?
                """,
            arguments: [now, error, id])
    }

    /// Deletes sent rows older than `sentBefore` and failed ones older than
    /// `failedBefore`. - Returns: how many went.
    @discardableResult
    static func prune(sentBefore: Int, failedBefore: Int, in tx: WriteTransaction) throws -> Int {
        try tx.db.execute(
            sql: """
                DELETE FROM mail_outbox WHERE (state IN ('sent', 'superseded') AND finished_at < ?) OR (state = 'failed' AND finished_at < ?)
                """,
            arguments: [sentBefore, failedBefore])
        return tx.db.changesCount
    }

    /// How many messages wait, and the age in seconds of the oldest (for
    /// `/metrics`).
    static func backlog(now: Int, in tx: some StoreReading) throws -> (count: Int, oldestAge: Int) {
        let row = try Row.fetchOne(tx.db, sql: "SELECT COUNT(*) AS n, MIN(created_at) AS oldest FROM mail_outbox WHERE state = 'pending'")
        let count: Int = row?["n"] ?? 0
        let oldest: Int? = row?["oldest"]
        return (count, oldest.map { max(0, now - $0) } ?? 0)
    }

    /// One row as the operator sees it (`pds mail list`, tests).
    struct Entry: Sendable, Equatable {
        let id: Int64
        let kind: String
        let recipient: String
        let state: String
        let attempts: Int
        let lastError: String?
    }

    /// The newest rows first.
    static func entries(limit: Int = 100, in tx: some StoreReading) throws -> [Entry] {
        try Row.fetchAll(
            tx.db, sql: "SELECT id, kind, recipient, state, attempts, last_error FROM mail_outbox ORDER BY id DESC LIMIT ?",
            arguments: [limit]
        ).map { row in
            Entry(id: row["id"], kind: row["kind"], recipient: row["recipient"], state: row["state"], attempts: row["attempts"], lastError: row["last_error"])
        }
    }
}
