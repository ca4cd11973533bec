import ATProto
import Foundation
import GRDB
import ServiceStorage

/// What users granted OAuth clients (`oauth_grant`) and the single-use
/// refresh tokens of each grant (`oauth_refresh_token`).
public struct OAuthGrantStore: Sendable {
    let pool: DatabasePool

    /// A grant as the token endpoint, the resource check and the "apps
    /// with access" page see it.
    public struct Grant: Sendable, Equatable {
        public let id: String
        public let did: DID
        public let clientID: String
        public let clientName: String?
        public let scope: String
        public let dpopJKT: String
        public let clientAuth: String
        public let createdAt: Int
        public let lastUsedAt: Int
        public let expiresAt: Int
    }

    /// What exchanging a code found.
    public enum Exchange: Sendable {
        case granted
        /// The code was exchanged before: its grant has been revoked.
        case codeReused
        /// No such code, or it expired.
        case unknown
    }

    /// Exchanges the code of request `requestID` for a new grant and its
    /// first refresh token, in one transaction. A code exchanged before
    /// revokes the grant it gave (RFC 6749 §4.1.2: a code is used once).
    public func exchange(requestID: String, grant: Grant, refreshHash: String, refreshExpiresAt: Int, now: Int) async throws -> Exchange {
        try await pool.write { db in
            guard
                let row = try Row.fetchOne(
                    db, sql: "SELECT grant_id, code_expires_at FROM oauth_request WHERE id = ? AND code_hash IS NOT NULL",
                    arguments: [requestID])
            else { return .unknown }
            if let spentGrant = row["grant_id"] as String? {
                try Self.revoke(spentGrant, db)
                return .codeReused
            }
            guard let codeExpiresAt = row["code_expires_at"] as Int?, codeExpiresAt > now else { return .unknown }
            try db.execute(
                sql: """
                    INSERT INTO oauth_grant (id, did, client_id, client_name, scope, dpop_jkt, client_auth, created_at, last_used_at, expires_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    grant.id, grant.did, grant.clientID, grant.clientName, grant.scope, grant.dpopJKT, grant.clientAuth, grant.createdAt,
                    grant.lastUsedAt, grant.expiresAt,
                ])
            try db.execute(
                sql: "INSERT INTO oauth_refresh_token (token_hash, grant_id, expires_at) VALUES (?, ?, ?)",
                arguments: [refreshHash, grant.id, refreshExpiresAt])
            try db.execute(sql: "UPDATE oauth_request SET grant_id = ? WHERE id = ?", arguments: [grant.id, requestID])
            // Grants past their end go with their refresh tokens (spent ones
            // are kept while the grant lives, to catch a replay).
            try db.execute(
                sql: "DELETE FROM oauth_refresh_token WHERE grant_id IN (SELECT id FROM oauth_grant WHERE expires_at <= ?)", arguments: [now])
            try db.execute(sql: "DELETE FROM oauth_grant WHERE expires_at <= ?", arguments: [now])
            return .granted
        }
    }

    /// What spending a refresh token found.
    public enum Refresh: Sendable {
        case rotated(Grant)
        /// The token was spent before: the grant has been revoked.
        case reused
        case unknown
    }

    /// Spends refresh token `hash` and stores `nextHash` in its place. The
    /// `check` runs on the grant first (DPoP key, client): when it throws,
    /// nothing changes.
    public func rotate(
        _ hash: String, nextHash: String, nextExpiresAt: Int, now: Int, check: @Sendable (Grant) throws -> Void
    ) async throws -> Refresh {
        try await pool.write { db in
            guard
                let row = try Row.fetchOne(
                    db, sql: "SELECT grant_id, spent, expires_at FROM oauth_refresh_token WHERE token_hash = ?", arguments: [hash])
            else { return .unknown }
            let grantID: String = row["grant_id"]
            if row["spent"] as Bool {
                try Self.revoke(grantID, db)
                return .reused
            }
            guard (row["expires_at"] as Int) > now, let grant = try Self.grant(grantID, db), grant.expiresAt > now else { return .unknown }
            try check(grant)
            try db.execute(sql: "UPDATE oauth_refresh_token SET spent = 1 WHERE token_hash = ?", arguments: [hash])
            try db.execute(
                sql: "INSERT INTO oauth_refresh_token (token_hash, grant_id, expires_at) VALUES (?, ?, ?)",
                arguments: [nextHash, grantID, min(nextExpiresAt, grant.expiresAt)])
            try db.execute(sql: "UPDATE oauth_grant SET last_used_at = ? WHERE id = ?", arguments: [now, grantID])
            return .rotated(grant)
        }
    }

    /// The grant a refresh token belongs to, spent or not.
    public func grantID(ofRefreshToken hash: String) async throws -> String? {
        try await pool.read { db in
            try String.fetchOne(db, sql: "SELECT grant_id FROM oauth_refresh_token WHERE token_hash = ?", arguments: [hash])
        }
    }

    /// Whether grant `id` of `did` is in force, and the account: the check
    /// behind every request with an OAuth access token.
    public func grantIsOpen(_ id: String, did: DID, now: Int) async throws -> (open: Bool, account: Account?) {
        try await pool.read { db in
            let open = try Bool.fetchOne(
                db.cachedStatement(sql: "SELECT EXISTS (SELECT 1 FROM oauth_grant WHERE id = ? AND did = ? AND expires_at > ?)"),
                arguments: [id, did, now]) ?? false
            return (open, open ? try AccountStore.account(did: did, in: ReadTransaction(db)) : nil)
        }
    }

    /// The grants of `did` still in force, newest first; every account's
    /// when `did` is nil (the operator's `pds oauth list`).
    public func grants(did: DID?, now: Int) async throws -> [Grant] {
        try await pool.read { db in
            let rows =
                if let did {
                    try Row.fetchAll(
                        db, sql: "SELECT * FROM oauth_grant WHERE did = ? AND expires_at > ? ORDER BY created_at DESC", arguments: [did, now])
                } else {
                    try Row.fetchAll(db, sql: "SELECT * FROM oauth_grant WHERE expires_at > ? ORDER BY created_at DESC", arguments: [now])
                }
            return rows.map(Self.grant)
        }
    }

    /// Ends a grant: its tokens stop working at once. Returns whether it existed.
    @discardableResult
    public func revoke(_ id: String, did: DID? = nil) async throws -> Bool {
        try await pool.write { db in
            if let did, try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM oauth_grant WHERE id = ? AND did = ?)", arguments: [id, did]) != true {
                return false
            }
            return try Self.revoke(id, db)
        }
    }

    @discardableResult
    static func revoke(_ id: String, _ db: Database) throws -> Bool {
        try db.execute(sql: "DELETE FROM oauth_refresh_token WHERE grant_id = ?", arguments: [id])
        try db.execute(sql: "DELETE FROM oauth_grant WHERE id = ?", arguments: [id])
        return db.changesCount > 0
    }

    /// Ends every grant of an account, inside the caller's transaction
    /// (account deletion, password change).
    static func revokeAll(did: DID, in tx: WriteTransaction) throws {
        try tx.db.execute(
            sql: "DELETE FROM oauth_refresh_token WHERE grant_id IN (SELECT id FROM oauth_grant WHERE did = ?)", arguments: [did])
        try tx.db.execute(sql: "DELETE FROM oauth_grant WHERE did = ?", arguments: [did])
    }

    static func grant(_ id: String, _ db: Database) throws -> Grant? {
        try Row.fetchOne(db, sql: "SELECT * FROM oauth_grant WHERE id = ?", arguments: [id]).map(grant)
    }

    static func grant(_ row: Row) -> Grant {
        Grant(
            id: row["id"], did: row["did"], clientID: row["client_id"], clientName: row["client_name"], scope: row["scope"],
            dpopJKT: row["dpop_jkt"], clientAuth: row["client_auth"], createdAt: row["created_at"], lastUsedAt: row["last_used_at"],
            expiresAt: row["expires_at"])
    }
}
