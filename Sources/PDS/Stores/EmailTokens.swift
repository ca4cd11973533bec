import ATProto
import Foundation
import GRDB
import ServiceStorage
import Logging

/// Single-use tokens that prove control of an account's email: password
/// reset and account deletion. A token looks like the reference PDS's
/// (`ABCDE-FGH23`), lasts 15 minutes, is spent by the action it allows, and
/// a new request replaces the pending token of the same purpose.
///
/// There is no mail sender yet: tokens are written to the log at info level
/// with the DID (and a line saying why), where the operator can find them.
public enum EmailTokens {
    /// What a token allows.
    public enum Purpose: String, Sendable {
        case deleteAccount = "delete_account"
        case resetPassword = "reset_password"
        case plcOperation = "plc_operation"
    }

    /// How long a token is valid, in seconds.
    public static let lifetime = 15 * 60

    /// Issues a new token for `did` (replacing a pending one of the same
    /// purpose) and delivers it: to the log, as no mail sender is configured.
    @discardableResult
    static func issue(_ purpose: Purpose, did: DID, email: String?, services: PDSServices) async throws -> String {
        let token = newToken()
        let now = Int(Date().timeIntervalSince1970)
        try await services.pool.write { db in
            try db.execute(
                sql: """
                    INSERT INTO email_token (purpose, did, token, requested_at) VALUES (?, ?, ?, ?)
                    ON CONFLICT (purpose, did) DO UPDATE SET token = excluded.token, requested_at = excluded.requested_at
                    """,
                arguments: [purpose.rawValue, did, token, now])
        }
        var metadata: Logger.Metadata = [
            "did": .string(did.string), "purpose": .string(purpose.rawValue), "token": .string(token),
            "expiresInSeconds": .stringConvertible(lifetime),
        ]
        if let email { metadata["email"] = .string(email) }
        services.logger.info("email token issued; no mail sender is configured, so it is written to this log instead of mailed", metadata: metadata)
        return token
    }

    /// Checks a token for `purpose` and returns the DID it was issued to,
    /// without spending it.
    /// - Parameter did: when given, the token must have been issued to it.
    /// - Throws: `InvalidToken` when unknown, `ExpiredToken` when older than
    ///   `lifetime`.
    static func check(_ purpose: Purpose, token rawToken: String, did: DID? = nil, in tx: some StoreReading, now: Int) throws -> DID {
        let db = tx.db
        let token = rawToken.trimmingCharacters(in: .whitespaces).uppercased()
        var sql = "SELECT did, requested_at FROM email_token WHERE purpose = ? AND token = ?"
        var arguments: StatementArguments = [purpose.rawValue, token]
        if let did {
            sql += " AND did = ?"
            arguments += [did]
        }
        guard !token.isEmpty, let row = try Row.fetchOne(db, sql: sql, arguments: arguments) else {
            throw XRPCError(.badRequest, "InvalidToken", "Token is invalid")
        }
        let requestedAt: Int = row["requested_at"]
        guard now - requestedAt < lifetime else { throw XRPCError(.badRequest, "ExpiredToken", "Token is expired") }
        return row["did"]
    }

    /// Checks a token and spends it, inside the transaction of the action it
    /// allows (so a token works once even under concurrent requests).
    static func spend(_ purpose: Purpose, token: String, did: DID? = nil, in tx: WriteTransaction, now: Int) throws -> DID {
        let db = tx.db
        let owner = try check(purpose, token: token, did: did, in: tx, now: now)
        try db.execute(sql: "DELETE FROM email_token WHERE purpose = ? AND did = ?", arguments: [purpose.rawValue, owner])
        return owner
    }

    /// Forgets the account's pending tokens for `purpose` (a new password
    /// makes reset tokens moot), inside the caller's transaction.
    static func forget(_ purpose: Purpose, did: DID, in tx: WriteTransaction) throws {
        try tx.db.execute(sql: "DELETE FROM email_token WHERE did = ? AND purpose = ?", arguments: [did, purpose.rawValue])
    }

    /// Removes every pending token of an account (it is deleted), inside
    /// the caller's transaction.
    static func deleteAll(did: DID, in tx: WriteTransaction) throws {
        try tx.db.execute(sql: "DELETE FROM email_token WHERE did = ?", arguments: [did])
    }

    /// Ten random base32 characters, upper case, as `XXXXX-XXXXX` (50 bits).
    static func newToken() -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
        var rng = SystemRandomNumberGenerator()
        let chars = (0..<10).map { _ in alphabet[Int(rng.next() % 32)] }
        return String(chars[0..<5]) + "-" + String(chars[5..<10])
    }
}
