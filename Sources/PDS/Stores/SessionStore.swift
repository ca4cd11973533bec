import ATProto
import Foundation
import GRDB
import ServiceStorage

/// Sign-in sessions in the service database: each session is a chain of
/// single-use refresh tokens (`refresh_token`), one unspent at a time; a
/// session is open while it has an unexpired token.
public struct SessionStore: Sendable {
    public let pool: DatabasePool

    public init(pool: DatabasePool) {
        self.pool = pool
    }

    /// Starts a session: stores its first refresh token.
    public func startSession(did: DID, sessionID: String, refreshID: String, expiresAt: Int, appPasswordName: String?)
        async throws
    {
        try await pool.write { db in
            try db.execute(
                sql: "INSERT INTO refresh_token (id, session_id, did, app_password_name, expires_at) VALUES (?, ?, ?, ?, ?)",
                arguments: [refreshID, sessionID, did, appPasswordName, expiresAt])
        }
    }

    /// What spending a refresh token found.
    public enum RefreshOutcome: Sendable {
        case rotated(sessionID: String, appPasswordName: String?)
        case unknown
        case reused
    }

    /// Spends refresh token `tokenID` and stores `nextID` in its place. A
    /// token spent before ends its whole session (someone replayed it).
    public func rotateRefreshToken(_ tokenID: String, did: DID, nextID: String, nextExpiresAt: Int, now: Int) async throws
        -> RefreshOutcome
    {
        try await pool.write { db in
            guard
                let row = try Row.fetchOne(
                    db, sql: "SELECT session_id, app_password_name, spent_at FROM refresh_token WHERE id = ? AND did = ?",
                    arguments: [tokenID, did])
            else { return .unknown }
            let sessionID: String = row["session_id"]
            if (row["spent_at"] as Int?) != nil {
                try db.execute(sql: "DELETE FROM refresh_token WHERE session_id = ?", arguments: [sessionID])
                return .reused
            }
            let appPasswordName: String? = row["app_password_name"]
            try db.execute(sql: "UPDATE refresh_token SET spent_at = ? WHERE id = ?", arguments: [now, tokenID])
            try db.execute(
                sql: "INSERT INTO refresh_token (id, session_id, did, app_password_name, expires_at) VALUES (?, ?, ?, ?, ?)",
                arguments: [nextID, sessionID, did, appPasswordName, nextExpiresAt])
            return .rotated(sessionID: sessionID, appPasswordName: appPasswordName)
        }
    }

    /// Whether a session is still open (it has an unexpired refresh token).
    public func sessionIsOpen(_ sessionID: String, now: Int) async throws -> Bool {
        try await pool.read { db in
            try Bool.fetchOne(
                db, sql: "SELECT EXISTS (SELECT 1 FROM refresh_token WHERE session_id = ? AND expires_at > ?)",
                arguments: [sessionID, now]) ?? false
        }
    }

    /// Whether a session is open, and its account: the check behind every
    /// authenticated request (whose answers ``SessionCheckCache`` keeps).
    public func session(_ sessionID: String, did: DID, now: Int) async throws -> (open: Bool, account: Account?) {
        try await pool.read { db in
            let open = try Bool.fetchOne(
                db.cachedStatement(sql: "SELECT EXISTS (SELECT 1 FROM refresh_token WHERE session_id = ? AND expires_at > ?)"),
                arguments: [sessionID, now]) ?? false
            return (open, open ? try AccountStore.account(did: did, in: ReadTransaction(db)) : nil)
        }
    }

    /// Ends a session: its refresh and access tokens stop working.
    public func endSession(_ sessionID: String) async throws {
        try await pool.write { db in
            try db.execute(sql: "DELETE FROM refresh_token WHERE session_id = ?", arguments: [sessionID])
        }
    }

    /// The session a refresh token belongs to.
    public func session(ofRefreshToken tokenID: String) async throws -> String? {
        try await pool.read { db in
            try String.fetchOne(db, sql: "SELECT session_id FROM refresh_token WHERE id = ?", arguments: [tokenID])
        }
    }

    /// Ends every session of an account, inside the caller's transaction.
    static func endAll(did: DID, in tx: WriteTransaction) throws {
        try tx.db.execute(sql: "DELETE FROM refresh_token WHERE did = ?", arguments: [did])
    }
}
