import ATProto
import Foundation
import GRDB
import ServiceStorage

/// App passwords: restricted passwords a user gives to third-party apps.
enum AppPasswords {
    struct Match: Sendable {
        let name: String
        let privileged: Bool
    }

    /// The app password of `did` that `password` is, if any. Only strings of
    /// the app-password form are tried, so a wrong account password costs no
    /// extra hashing.
    static func match(_ password: String, did: DID, pool: DatabasePool) async throws -> Match? {
        let password = password.lowercased()
        guard hasAppPasswordForm(password) else { return nil }
        let rows = try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT name, password_hash, privileged FROM app_password WHERE did = ?", arguments: [did])
                .map { (name: $0["name"] as String, hash: $0["password_hash"] as String, privileged: $0["privileged"] as Bool) }
        }
        for row in rows where PasswordHasher.verify(password, hash: row.hash) {
            return Match(name: row.name, privileged: row.privileged)
        }
        return nil
    }

    static func isPrivileged(name: String, did: DID, pool: DatabasePool) async throws -> Bool {
        try await pool.read { db in
            try Bool.fetchOne(db, sql: "SELECT privileged FROM app_password WHERE did = ? AND name = ?", arguments: [did, name])
                ?? false
        }
    }

    // MARK: - Managing app passwords

    /// An app password as `listAppPasswords` shows it.
    struct Listed: Sendable {
        let name: String
        let createdAt: String
        let privileged: Bool
    }

    /// The longest name accepted.
    static let maxNameLength = 100

    /// Creates an app password named `name` for `did`.
    /// - Returns: the password (shown to the user once; only its hash is
    ///   stored) and the creation time.
    static func create(did: DID, name: String, privileged: Bool, services: PDSServices) async throws
        -> (password: String, createdAt: String)
    {
        guard !name.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, name.count <= maxNameLength else {
            throw XRPCError.invalidRequest("App password name must be 1 to \(maxNameLength) characters")
        }
        let duplicate = XRPCError.invalidRequest("An app password named '\(name)' already exists")
        let exists = try await services.pool.read { db in
            try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM app_password WHERE did = ? AND name = ?)", arguments: [did, name])
                ?? false
        }
        if exists { throw duplicate }
        let password = newPassword()
        let hash = try PasswordHasher.hash(password, strength: services.passwordStrength)
        let createdAt = AccountStore.now()
        do {
            try await services.pool.write { db in
                try db.execute(
                    sql: "INSERT INTO app_password (did, name, password_hash, privileged, created_at) VALUES (?, ?, ?, ?, ?)",
                    arguments: [did, name, hash, privileged, createdAt])
            }
        } catch let error as DatabaseError where error.resultCode == .SQLITE_CONSTRAINT {
            throw duplicate
        }
        services.logger.info("app password created", metadata: ["did": .string(did.string), "name": .string(name)])
        return (password, createdAt)
    }

    /// The app passwords of `did`, newest first.
    static func list(did: DID, pool: DatabasePool) async throws -> [Listed] {
        try await pool.read { db in
            try Row.fetchAll(
                db, sql: "SELECT name, created_at, privileged FROM app_password WHERE did = ? ORDER BY created_at DESC, name",
                arguments: [did]
            ).map { Listed(name: $0["name"], createdAt: $0["created_at"], privileged: $0["privileged"]) }
        }
    }

    /// Revokes an app password and ends the sessions logged in with it.
    /// Revoking a name that does not exist does nothing.
    static func revoke(did: DID, name: String, services: PDSServices) async throws {
        try await services.pool.write { db in
            try db.execute(sql: "DELETE FROM app_password WHERE did = ? AND name = ?", arguments: [did, name])
            try db.execute(sql: "DELETE FROM refresh_token WHERE did = ? AND app_password_name = ?", arguments: [did, name])
        }
        services.logger.info("app password revoked", metadata: ["did": .string(did.string), "name": .string(name)])
    }

    /// Removes every app password of an account (it is deleted), inside
    /// the caller's transaction.
    static func deleteAll(did: DID, in tx: WriteTransaction) throws {
        try tx.db.execute(sql: "DELETE FROM app_password WHERE did = ?", arguments: [did])
    }

    /// A new app password: 16 random base32 characters as `xxxx-xxxx-xxxx-xxxx` (80 bits).
    static func newPassword() -> String {
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz234567")
        var rng = SystemRandomNumberGenerator()
        let chars = (0..<16).map { _ in alphabet[Int(rng.next() % 32)] }
        return stride(from: 0, to: 16, by: 4).map { String(chars[$0..<$0 + 4]) }.joined(separator: "-")
    }

    /// Whether a string has the form of an app password.
    static func hasAppPasswordForm(_ password: String) -> Bool {
        let bytes = Array(password.utf8)
        guard bytes.count == 19 else { return false }
        for (i, b) in bytes.enumerated() {
            if i % 5 == 4 {
                guard b == UInt8(ascii: "-") else { return false }
            } else {
                guard (b >= UInt8(ascii: "a") && b <= UInt8(ascii: "z")) || (b >= UInt8(ascii: "2") && b <= UInt8(ascii: "7"))
                else { return false }
            }
        }
        return true
    }
}
