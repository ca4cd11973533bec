import Foundation
import GRDB

/// App passwords: restricted passwords a user gives to third-party apps.
enum AppPasswords {
    struct Match: Sendable {
        let name: String
        let privileged: Bool
    }

    /// The app password of `did` that `password` is, if any.
    static func match(_ password: String, did: String, pool: DatabasePool) async throws -> Match? {
        let rows = try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT name, password_hash, privileged FROM app_password WHERE did = ?", arguments: [did])
                .map { (name: $0["name"] as String, hash: $0["password_hash"] as String, privileged: $0["privileged"] as Bool) }
        }
        for row in rows where PasswordHasher.verify(password, hash: row.hash) {
            return Match(name: row.name, privileged: row.privileged)
        }
        return nil
    }

    static func isPrivileged(name: String, did: String, pool: DatabasePool) async throws -> Bool {
        try await pool.read { db in
            try Bool.fetchOne(db, sql: "SELECT privileged FROM app_password WHERE did = ? AND name = ?", arguments: [did, name])
                ?? false
        }
    }
}
