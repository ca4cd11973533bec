import ATProto
import Foundation
import GRDB

/// What this server keeps as an OAuth *client* (the Atrarium dashboard
/// signing people in with their own PDS): sign-ins under way
/// (`oauth_client_request`) and signed-in browsers (`oauth_client_session`).
/// See `migrations/sql/0012_oauth_client.sql` for what each column holds.
public struct OAuthClientStore: Sendable {
    let pool: DatabasePool

    /// How long a sign-in may take, from the pushed request to the callback.
    public static let requestLifetime = 600

    /// A sign-in under way.
    public struct Request: Sendable, Equatable {
        public var state: String
        public var browserHash: String
        public var server: AuthorizationServer
        public var pdsURL: String
        public var expectedDID: DID?
        public var codeVerifier: String
        public var dpopKey: [UInt8]
        public var dpopNonce: String?
        public var returnTo: String
        public var createdAt: Int
    }

    /// The authorization server endpoints a session talks to.
    public struct AuthorizationServer: Sendable, Equatable {
        public var issuer: String
        public var tokenEndpoint: String
        public var revocationEndpoint: String?

        public init(issuer: String, tokenEndpoint: String, revocationEndpoint: String?) {
            self.issuer = issuer
            self.tokenEndpoint = tokenEndpoint
            self.revocationEndpoint = revocationEndpoint
        }
    }

    /// A signed-in browser.
    public struct Session: Sendable, Equatable {
        public var idHash: String
        public var did: DID
        public var server: AuthorizationServer
        public var pdsURL: String
        public var scope: String
        public var accessToken: String
        public var accessExpiresAt: Int
        public var refreshToken: String?
        public var dpopKey: [UInt8]
        public var authNonce: String?
        public var pdsNonce: String?
        public var csrf: String
        public var createdAt: Int
        public var expiresAt: Int

        public init(
            idHash: String, did: DID, server: AuthorizationServer, pdsURL: String, scope: String, accessToken: String, accessExpiresAt: Int,
            refreshToken: String?, dpopKey: [UInt8], authNonce: String?, pdsNonce: String?, csrf: String, createdAt: Int, expiresAt: Int
        ) {
            self.idHash = idHash
            self.did = did
            self.server = server
            self.pdsURL = pdsURL
            self.scope = scope
            self.accessToken = accessToken
            self.accessExpiresAt = accessExpiresAt
            self.refreshToken = refreshToken
            self.dpopKey = dpopKey
            self.authNonce = authNonce
            self.pdsNonce = pdsNonce
            self.csrf = csrf
            self.createdAt = createdAt
            self.expiresAt = expiresAt
        }
    }

    public func save(_ request: Request) async throws {
        try await pool.write { db in
            try db.execute(sql: "DELETE FROM oauth_client_request WHERE created_at < ?", arguments: [request.createdAt - Self.requestLifetime])
            try db.execute(
                sql: """
                    INSERT INTO oauth_client_request (state, browser_hash, issuer, token_endpoint, revocation_endpoint, pds_url,
                        expected_did, code_verifier, dpop_key, dpop_nonce, return_to, created_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    request.state, request.browserHash, request.server.issuer, request.server.tokenEndpoint, request.server.revocationEndpoint,
                    request.pdsURL, request.expectedDID?.string, request.codeVerifier, Data(request.dpopKey), request.dpopNonce,
                    request.returnTo, request.createdAt,
                ])
        }
    }

    /// Removes and returns the sign-in `state` names, if it is still
    /// current: each state is good for one callback.
    public func takeRequest(state: String, now: Int) async throws -> Request? {
        try await pool.write { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM oauth_client_request WHERE state = ?", arguments: [state]) else {
                return nil
            }
            try db.execute(sql: "DELETE FROM oauth_client_request WHERE state = ?", arguments: [state])
            let createdAt: Int = row["created_at"]
            guard createdAt >= now - Self.requestLifetime else { return nil }
            let did: String? = row["expected_did"]
            let key: Data = row["dpop_key"]
            return Request(
                state: row["state"], browserHash: row["browser_hash"],
                server: AuthorizationServer(issuer: row["issuer"], tokenEndpoint: row["token_endpoint"], revocationEndpoint: row["revocation_endpoint"]),
                pdsURL: row["pds_url"], expectedDID: try did.map { try DID($0) }, codeVerifier: row["code_verifier"], dpopKey: Array(key),
                dpopNonce: row["dpop_nonce"], returnTo: row["return_to"], createdAt: createdAt)
        }
    }

    public func save(_ session: Session) async throws {
        try await pool.write { db in
            try db.execute(sql: "DELETE FROM oauth_client_session WHERE expires_at <= ?", arguments: [session.createdAt])
            try db.execute(
                sql: """
                    INSERT INTO oauth_client_session (id_hash, did, issuer, token_endpoint, revocation_endpoint, pds_url, scope,
                        access_token, access_expires_at, refresh_token, dpop_key, auth_nonce, pds_nonce, csrf, created_at, expires_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    session.idHash, session.did.string, session.server.issuer, session.server.tokenEndpoint, session.server.revocationEndpoint,
                    session.pdsURL, session.scope, session.accessToken, session.accessExpiresAt, session.refreshToken, Data(session.dpopKey),
                    session.authNonce, session.pdsNonce, session.csrf, session.createdAt, session.expiresAt,
                ])
        }
    }

    /// The session whose cookie hashes to `idHash`, unless it has ended.
    public func session(idHash: String, now: Int) async throws -> Session? {
        try await pool.read { db in
            guard
                let row = try Row.fetchOne(
                    db, sql: "SELECT * FROM oauth_client_session WHERE id_hash = ? AND expires_at > ?", arguments: [idHash, now])
            else { return nil }
            let key: Data = row["dpop_key"]
            return Session(
                idHash: row["id_hash"], did: try DID(row["did"] as String),
                server: AuthorizationServer(issuer: row["issuer"], tokenEndpoint: row["token_endpoint"], revocationEndpoint: row["revocation_endpoint"]),
                pdsURL: row["pds_url"], scope: row["scope"], accessToken: row["access_token"], accessExpiresAt: row["access_expires_at"],
                refreshToken: row["refresh_token"], dpopKey: Array(key), authNonce: row["auth_nonce"], pdsNonce: row["pds_nonce"],
                csrf: row["csrf"], createdAt: row["created_at"], expiresAt: row["expires_at"])
        }
    }

    /// Stores a refresh's outcome: the new access token and the refresh
    /// token that replaces the spent one, in one write.
    public func updateTokens(idHash: String, accessToken: String, accessExpiresAt: Int, refreshToken: String?, authNonce: String?) async throws {
        try await pool.write { db in
            try db.execute(
                sql: """
                    UPDATE oauth_client_session SET access_token = ?, access_expires_at = ?, refresh_token = ?, auth_nonce = ?
                    WHERE id_hash = ?
                    """,
                arguments: [accessToken, accessExpiresAt, refreshToken, authNonce, idHash])
        }
    }

    /// Remembers the latest DPoP nonce of the session's PDS.
    public func updatePDSNonce(idHash: String, nonce: String) async throws {
        try await pool.write { db in
            try db.execute(sql: "UPDATE oauth_client_session SET pds_nonce = ? WHERE id_hash = ?", arguments: [nonce, idHash])
        }
    }

    /// Ends a session (sign-out, or its grant was revoked).
    public func deleteSession(idHash: String) async throws {
        try await pool.write { db in
            try db.execute(sql: "DELETE FROM oauth_client_session WHERE id_hash = ?", arguments: [idHash])
        }
    }
}
