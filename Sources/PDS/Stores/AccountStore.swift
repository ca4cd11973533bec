import ATCrypto
import ATProto
import Foundation
import GRDB
import Synchronization

/// The lifecycle state of an account.
public enum AccountStatus: String, Sendable {
    case active, deactivated, takendown, deleted
}

/// An account hosted here.
public struct Account: Sendable {
    public let did: String
    public let handle: String
    public let email: String?
    public let status: AccountStatus
    public let signingKey: PrivateKey
    public let emailConfirmed: Bool
    public let createdAt: String
    /// A migrating account whose placeholder repository no import has
    /// replaced yet.
    public let awaitingImport: Bool

    init(row: Row) throws {
        did = row["did"]
        handle = row["handle"]
        email = row["email"]
        status = AccountStatus(rawValue: row["status"]) ?? .active
        let keyType: String = row["signing_key_type"]
        let keyBytes: Data = row["signing_key"]
        signingKey = try SigningKeyCache.key(type: KeyType(rawValue: keyType) ?? .secp256k1, raw: keyBytes)
        emailConfirmed = (row["email_confirmed_at"] as String?) != nil
        createdAt = row["created_at"]
        awaitingImport = (row["awaiting_import"] as Int?) == 1
    }
}

/// Loaded signing keys by their raw bytes: deriving the public key costs tens
/// of microseconds, and every authenticated request loads its account.
enum SigningKeyCache {
    private static let keys = Mutex<[Data: PrivateKey]>([:])

    static func key(type: KeyType, raw: Data) throws -> PrivateKey {
        if let key = keys.withLock({ $0[raw] }), key.type == type { return key }
        let key = try PrivateKey(type: type, rawRepresentation: [UInt8](raw))
        keys.withLock {
            if $0.count > 100_000 { $0.removeAll() }
            $0[raw] = key
        }
        return key
    }
}

/// Accounts and their sessions in the service database.
public struct AccountStore: Sendable {
    public let pool: DatabasePool

    public init(pool: DatabasePool) {
        self.pool = pool
    }

    static func now() -> String { ATDatetime.format(Date()) }

    // MARK: - Accounts

    /// Inserts a new account; the caller has checked the handle and email.
    public func insert(
        did: String, handle: String, email: String?, passwordHash: String, signingKey: PrivateKey, plcGenesis: [UInt8]?,
        db: Database
    ) throws {
        try db.execute(
            sql: """
                INSERT INTO account (did, handle, email, password_hash, signing_key_type, signing_key, plc_genesis, created_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [
                did, handle, email, passwordHash, signingKey.type.rawValue, Data(signingKey.rawRepresentation),
                plcGenesis.map { Data($0) }, AccountStore.now(),
            ])
    }

    /// Marks whether the account's repository is a migration's placeholder
    /// that its first import may replace, inside the caller's transaction.
    static func setAwaitingImport(_ awaiting: Bool, did: String, db: Database) throws {
        try db.execute(sql: "UPDATE account SET awaiting_import = ? WHERE did = ?", arguments: [awaiting ? 1 : 0, did])
    }

    /// The account with this DID.
    public func account(did: String) async throws -> Account? {
        try await pool.read { db in try AccountStore.account(did: did, db: db) }
    }

    static func account(did: String, db: Database) throws -> Account? {
        try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM account WHERE did = ?"), arguments: [did]).map(Account.init(row:))
    }

    /// The account a login identifier names: a DID, a handle or an email.
    public func account(identifier: String) async throws -> Account? {
        try await pool.read { db in try AccountStore.account(identifier: identifier, db: db) }
    }

    static func account(identifier: String, db: Database) throws -> Account? {
        let id = identifier.lowercased()
        let sql: String
        if id.hasPrefix("did:") {
            sql = "SELECT * FROM account WHERE did = ?"
        } else if id.contains("@") {
            sql = "SELECT * FROM account WHERE email = ?"
        } else {
            sql = "SELECT * FROM account WHERE handle = ?"
        }
        return try Row.fetchOne(db.cachedStatement(sql: sql), arguments: [id.hasPrefix("did:") ? identifier : id]).map(Account.init(row:))
    }

    public func handleTaken(_ handle: String) async throws -> Bool {
        try await pool.read { db in
            try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM account WHERE handle = ?)", arguments: [handle]) ?? false
        }
    }

    public func emailTaken(_ email: String) async throws -> Bool {
        try await pool.read { db in
            try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM account WHERE email = ?)", arguments: [email]) ?? false
        }
    }

    public func passwordHash(did: String) async throws -> String? {
        try await pool.read { db in
            try String.fetchOne(db, sql: "SELECT password_hash FROM account WHERE did = ?", arguments: [did])
        }
    }

    // MARK: - Sessions

    /// Starts a session: stores its first refresh token.
    public func startSession(did: String, sessionID: String, refreshID: String, expiresAt: Int, appPasswordName: String?)
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
    public func rotateRefreshToken(_ tokenID: String, did: String, nextID: String, nextExpiresAt: Int, now: Int) async throws
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
    public func session(_ sessionID: String, did: String, now: Int) async throws -> (open: Bool, account: Account?) {
        try await pool.read { db in
            let open = try Bool.fetchOne(
                db.cachedStatement(sql: "SELECT EXISTS (SELECT 1 FROM refresh_token WHERE session_id = ? AND expires_at > ?)"),
                arguments: [sessionID, now]) ?? false
            return (open, open ? try AccountStore.account(did: did, db: db) : nil)
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
}
