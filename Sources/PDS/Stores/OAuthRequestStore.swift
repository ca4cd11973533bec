import ATProto
import Foundation
import GRDB
import OAuth
import ServiceStorage

/// Pushed authorization requests from PAR to the exchange of their code
/// (`oauth_request`).
public struct OAuthRequestStore: Sendable {
    let pool: DatabasePool

    /// A stored request as the authorize pages and the token endpoint see it.
    public struct Request: Sendable {
        public let id: String
        public let parameters: AuthorizationParameters
        public let dpopJKT: String
        public let clientAuth: String
        public let expiresAt: Int
        public let deviceID: String?
        public let did: DID?
        public let codeExpiresAt: Int?
        public let grantID: String?
    }

    /// Stores a new request.
    public func create(id: String, parameters: AuthorizationParameters, dpopJKT: String, clientAuth: String, expiresAt: Int)
        async throws
    {
        let json = String(decoding: try JSONEncoder().encode(parameters), as: UTF8.self)
        try await pool.write { db in
            try db.execute(
                sql: """
                    INSERT INTO oauth_request (id, client_id, parameters, dpop_jkt, client_auth, expires_at)
                    VALUES (?, ?, ?, ?, ?, ?)
                    """,
                arguments: [id, parameters.clientID, json, dpopJKT, clientAuth, expiresAt])
            // Requests an hour past their expiry are of no further use,
            // not even to detect a code's second exchange.
            try db.execute(sql: "DELETE FROM oauth_request WHERE expires_at < ?", arguments: [expiresAt - 3600 - 300])
        }
    }

    /// The request with `id`, if any.
    public func request(_ id: String) async throws -> Request? {
        try await pool.read { db in try Self.request(id, db) }
    }

    /// Binds the request to the browser that first opened it; false when
    /// another browser already has it.
    public func bind(_ id: String, deviceID: String) async throws -> Bool {
        try await pool.write { db in
            try db.execute(
                sql: "UPDATE oauth_request SET device_id = ? WHERE id = ? AND device_id IS NULL", arguments: [deviceID, id])
            return try String.fetchOne(db, sql: "SELECT device_id FROM oauth_request WHERE id = ?", arguments: [id]) == deviceID
        }
    }

    /// Records consent: the account and the code (by hash). False when the
    /// request already has a code (consent is given once).
    public func consent(_ id: String, did: DID, codeHash: String, codeExpiresAt: Int) async throws -> Bool {
        try await pool.write { db in
            try db.execute(
                sql: "UPDATE oauth_request SET did = ?, code_hash = ?, code_expires_at = ? WHERE id = ? AND code_hash IS NULL",
                arguments: [did, codeHash, codeExpiresAt, id])
            return db.changesCount == 1
        }
    }

    /// Ends a request without a code (the user refused, or an error was sent back).
    public func delete(_ id: String) async throws {
        try await pool.write { db in try db.execute(sql: "DELETE FROM oauth_request WHERE id = ?", arguments: [id]) }
    }

    /// The request a code was issued for.
    public func request(codeHash: String) async throws -> Request? {
        try await pool.read { db in
            guard let id = try String.fetchOne(db, sql: "SELECT id FROM oauth_request WHERE code_hash = ?", arguments: [codeHash]) else {
                return nil
            }
            return try Self.request(id, db)
        }
    }

    static func request(_ id: String, _ db: Database) throws -> Request? {
        guard let row = try Row.fetchOne(db, sql: "SELECT * FROM oauth_request WHERE id = ?", arguments: [id]) else { return nil }
        let json: String = row["parameters"]
        return Request(
            id: row["id"], parameters: try JSONDecoder().decode(AuthorizationParameters.self, from: Data(json.utf8)),
            dpopJKT: row["dpop_jkt"], clientAuth: row["client_auth"], expiresAt: row["expires_at"], deviceID: row["device_id"],
            did: row["did"], codeExpiresAt: row["code_expires_at"], grantID: row["grant_id"])
    }
}
