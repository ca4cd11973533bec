import ATCrypto
import ATProto
import Foundation
import GRDB
import ServiceStorage
import Synchronization

/// The lifecycle state of an account.
public enum AccountStatus: String, Sendable {
    case active, deactivated, takendown, deleted
}

/// An account hosted here.
public struct Account: Sendable {
    public let did: DID
    /// The handle; `handle.invalid` for a deleted account, whose row keeps
    /// its DID in the handle column so that the handle is free again.
    public let handle: Handle
    public let email: String?
    public let status: AccountStatus
    public let signingKey: PrivateKey
    public let emailConfirmed: Bool
    public let createdAt: String
    /// A migrating account whose placeholder repository no import has
    /// replaced yet.
    public let awaitingImport: Bool
    /// Whether signing in with the password also needs a code sent by mail
    /// (`emailAuthFactor`).
    public let emailAuthFactor: Bool
    /// Whether the operator took away the account's invite codes
    /// (`com.atproto.admin.disableAccountInvites`).
    public let invitesDisabled: Bool

    init(row: Row) throws {
        did = row["did"]
        status = AccountStatus(rawValue: row["status"]) ?? .active
        handle = status == .deleted ? Handle(unchecked: Handle.invalidHandleMarker) : row["handle"]
        email = row["email"]
        let keyType: String = row["signing_key_type"]
        let keyBytes: Data = row["signing_key"]
        signingKey = try SigningKeyCache.key(type: KeyType(rawValue: keyType) ?? .secp256k1, raw: keyBytes)
        emailConfirmed = (row["email_confirmed_at"] as String?) != nil
        createdAt = row["created_at"]
        awaitingImport = (row["awaiting_import"] as Int?) == 1
        emailAuthFactor = (row["email_auth_factor"] as Int?) == 1
        invitesDisabled = (row["invites_disabled"] as Int?) == 1
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

/// Accounts in the service database (the `account` table): identity,
/// credentials, signing key and status. Sessions are ``SessionStore``'s.
public struct AccountStore: Sendable {
    public let pool: DatabasePool

    public init(pool: DatabasePool) {
        self.pool = pool
    }

    static func now() -> String { ATDatetime.format(Date()) }

    // MARK: - Accounts

    /// Inserts a new account; the caller has checked the handle and email.
    public static func insert(
        did: DID, handle: Handle, email: String?, passwordHash: String, signingKey: PrivateKey, plcGenesis: [UInt8]?,
        in tx: WriteTransaction
    ) throws {
        try tx.db.execute(
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
    static func setAwaitingImport(_ awaiting: Bool, did: DID, in tx: WriteTransaction) throws {
        try tx.db.execute(sql: "UPDATE account SET awaiting_import = ? WHERE did = ?", arguments: [awaiting ? 1 : 0, did])
    }

    /// The account with this DID.
    public func account(did: DID) async throws -> Account? {
        try await pool.read { db in try AccountStore.account(did: did, in: ReadTransaction(db)) }
    }

    /// The account with this DID, inside a transaction.
    static func account(did: DID, in tx: some StoreReading) throws -> Account? {
        try Row.fetchOne(tx.db.cachedStatement(sql: "SELECT * FROM account WHERE did = ?"), arguments: [did]).map(Account.init(row:))
    }

    /// The handles of those of `dids` hosted here (deleted accounts apart),
    /// in one read: a page naming hundreds of accounts asks once.
    public func handles(of dids: [DID]) async throws -> [DID: Handle] {
        guard !dids.isEmpty else { return [:] }
        return try await pool.read { db in
            var found: [DID: Handle] = [:]
            let statement = try db.cachedStatement(sql: "SELECT handle FROM account WHERE did = ? AND status != 'deleted'")
            for did in dids {
                if let handle = try Handle.fetchOne(statement, arguments: [did]) { found[did] = handle }
            }
            return found
        }
    }

    /// The account a login identifier names: a DID, a handle or an email.
    public func account(identifier: String) async throws -> Account? {
        try await pool.read { db in try AccountStore.account(identifier: identifier, in: ReadTransaction(db)) }
    }

    /// The account a login identifier names, inside a transaction.
    static func account(identifier: String, in tx: some StoreReading) throws -> Account? {
        let id = identifier.lowercased()
        let sql: String
        if id.hasPrefix("did:") {
            sql = "SELECT * FROM account WHERE did = ?"
        } else if id.contains("@") {
            sql = "SELECT * FROM account WHERE email = ?"
        } else {
            sql = "SELECT * FROM account WHERE handle = ?"
        }
        return try Row.fetchOne(tx.db.cachedStatement(sql: sql), arguments: [id.hasPrefix("did:") ? identifier : id]).map(Account.init(row:))
    }

    /// Whether an account (another than `exceptDID`) has this handle.
    static func handleTaken(_ handle: Handle, exceptDID: DID, in tx: some StoreReading) throws -> Bool {
        try Bool.fetchOne(
            tx.db, sql: "SELECT EXISTS (SELECT 1 FROM account WHERE handle = ? AND did != ?)", arguments: [handle, exceptDID]) == true
    }

    /// Changes an account's handle; the caller has checked it is free.
    static func setHandle(_ handle: Handle, did: DID, in tx: WriteTransaction) throws {
        try tx.db.execute(sql: "UPDATE account SET handle = ? WHERE did = ?", arguments: [handle, did])
    }

    /// Whether an account has this handle.
    public func handleTaken(_ handle: Handle) async throws -> Bool {
        try await pool.read { db in
            try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM account WHERE handle = ?)", arguments: [handle]) ?? false
        }
    }

    /// Whether an account has this email.
    public func emailTaken(_ email: String) async throws -> Bool {
        try await pool.read { db in
            try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM account WHERE email = ?)", arguments: [email]) ?? false
        }
    }

    /// Whether another account has `email`.
    static func emailTaken(_ email: String, exceptDID did: DID, in tx: some StoreReading) throws -> Bool {
        try Bool.fetchOne(tx.db, sql: "SELECT EXISTS (SELECT 1 FROM account WHERE email = ? AND did != ?)", arguments: [email, did]) ?? false
    }

    /// Sets the email; a new address is unconfirmed.
    static func setEmail(_ email: String, did: DID, in tx: WriteTransaction) throws {
        try tx.db.execute(
            sql: """
                UPDATE account SET email_confirmed_at = CASE WHEN email = ? THEN email_confirmed_at ELSE NULL END, email = ?
                WHERE did = ?
                """,
            arguments: [email, email, did])
    }

    /// Marks the email confirmed now.
    static func confirmEmail(did: DID, in tx: WriteTransaction) throws {
        try tx.db.execute(sql: "UPDATE account SET email_confirmed_at = ? WHERE did = ?", arguments: [now(), did])
    }

    /// Turns sign-in codes by mail on or off.
    static func setEmailAuthFactor(_ on: Bool, did: DID, in tx: WriteTransaction) throws {
        try tx.db.execute(sql: "UPDATE account SET email_auth_factor = ? WHERE did = ?", arguments: [on ? 1 : 0, did])
    }

    /// Takes away or gives back the account's invite codes.
    static func setInvitesDisabled(_ disabled: Bool, did: DID, in tx: WriteTransaction) throws {
        try tx.db.execute(sql: "UPDATE account SET invites_disabled = ? WHERE did = ?", arguments: [disabled ? 1 : 0, did])
    }

    /// The account's password hash (Argon2id, libsodium's string form).
    public func passwordHash(did: DID) async throws -> String? {
        try await pool.read { db in
            try String.fetchOne(db, sql: "SELECT password_hash FROM account WHERE did = ?", arguments: [did])
        }
    }

    /// Every account that is not deleted, oldest first.
    static func summaries(in tx: some StoreReading) throws -> [AccountAdmin.Summary] {
        try Row.fetchAll(
            tx.db,
            sql: "SELECT did, handle, email, status, created_at FROM account WHERE status != 'deleted' ORDER BY created_at, did"
        ).map {
            AccountAdmin.Summary(
                did: $0["did"], handle: $0["handle"], email: $0["email"],
                status: AccountStatus(rawValue: $0["status"]) ?? .active, createdAt: $0["created_at"])
        }
    }

    /// One hosted repository as `listRepos` shows it.
    struct RepositorySummary: Sendable {
        let did: DID
        let status: String
        let head: CID
        let rev: String
    }

    /// Up to `limit` repositories of accounts that are not deleted, by DID,
    /// after `cursor`.
    static func repositories(after cursor: String, limit: Int, in tx: some StoreReading) throws -> [RepositorySummary] {
        try Row.fetchAll(
            tx.db,
            sql: """
                SELECT a.did, a.status, r.cid, r.rev FROM account a JOIN repo_root r ON r.did = a.did
                WHERE a.did > ? AND a.status != 'deleted' ORDER BY a.did LIMIT ?
                """,
            arguments: [cursor, limit]
        ).map { row in
            RepositorySummary(did: row["did"], status: row["status"], head: try CID(bytes: [UInt8](row["cid"] as Data)), rev: row["rev"])
        }
    }

    /// Replaces the account's password hash.
    static func setPasswordHash(_ hash: String, did: DID, in tx: WriteTransaction) throws {
        try tx.db.execute(sql: "UPDATE account SET password_hash = ? WHERE did = ?", arguments: [hash, did])
    }

    /// The DIDs of the active did:plc accounts.
    static func activePLCAccounts(in tx: some StoreReading) throws -> [DID] {
        try DID.fetchAll(tx.db, sql: "SELECT did FROM account WHERE status = 'active' AND did LIKE 'did:plc:%'")
    }

    /// The signed genesis operation kept for a did:plc account created here.
    static func plcGenesis(did: DID, in tx: some StoreReading) throws -> [UInt8]? {
        try Data.fetchOne(tx.db, sql: "SELECT plc_genesis FROM account WHERE did = ?", arguments: [did]).map { [UInt8]($0) }
    }
}
