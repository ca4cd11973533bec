import ATProto
import Foundation
import GRDB
import ServiceStorage

/// Single-use tokens that prove control of an account's email: confirming
/// or changing it, password reset, account deletion, PLC operations and
/// sign-in codes. A token looks like the reference PDS's (`ABCDE-FGH23`),
/// lasts 15 minutes, is spent by the action it allows, and a new request
/// replaces the pending token of the same purpose. ``AccountMail`` mails
/// them (or writes them to the log when no SMTP server is configured).
public enum EmailTokens {
    /// What a token allows; also the name of its message's templates.
    public enum Purpose: String, Sendable, CaseIterable {
        case confirmEmail = "confirm_email"
        case updateEmail = "update_email"
        case deleteAccount = "delete_account"
        case resetPassword = "reset_password"
        case plcOperation = "plc_operation"
        case signIn = "sign_in"
    }

    /// How long a token is valid, in seconds (the reference's 15 minutes).
    public static let lifetime = 15 * 60

    /// Issues a new token for `did` inside the caller's transaction,
    /// replacing a pending one of the same purpose.
    static func issue(_ purpose: Purpose, did: DID, now: Int, in tx: WriteTransaction) throws -> String {
        let token = newToken()
        try tx.db.execute(
            sql: """
                INSERT INTO email_token (purpose, did, token, requested_at) VALUES (?, ?, ?, ?)
                ON CONFLICT (purpose, did) DO UPDATE SET token = excluded.token, requested_at = excluded.requested_at
                """,
            arguments: [purpose.rawValue, did, token, now])
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
