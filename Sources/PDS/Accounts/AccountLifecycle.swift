import ATCrypto
import ATProto
import Foundation
import GRDB
import Sequencer

/// Status changes of an account: deactivation by its owner, takedown by an
/// admin, and deletion.
///
/// The `status` column is derived from the facts stored beside it, so the
/// two kinds of change compose: a takedown (`takedown_ref` set) wins over a
/// deactivation (`deactivated_at` set); lifting a takedown returns the
/// account to `deactivated` or `active`, whichever it was. `deleted` is
/// final.
///
/// Hook: when the sequencer lands, each change here should emit an
/// `#account` event (and activation an `#identity` and a `#sync`), as the
/// reference PDS does.
extension AccountAdmin {
    /// Appends the `#account` event of the account's current status (inside
    /// the transaction that changed it).
    static func sequenceStatus(did: String, db: Database) throws {
        guard let status = try String.fetchOne(db, sql: "SELECT status FROM account WHERE did = ?", arguments: [did]) else { return }
        try Sequencer.append(.account(did: did, active: status == "active", status: status), db: db)
    }

    /// SQL that recomputes `status` from `takedown_ref` and `deactivated_at`.
    static let recomputeStatus = """
        UPDATE account SET status = CASE
            WHEN takedown_ref IS NOT NULL THEN 'takendown'
            WHEN deactivated_at IS NOT NULL THEN 'deactivated'
            ELSE 'active' END
        WHERE did = ? AND status != 'deleted'
        """

    /// The account with `did` unless deleted, inside a transaction.
    static func existing(did: String, db: Database) throws -> Account {
        guard let account = try AccountStore.account(did: did, db: db), account.status != .deleted else {
            throw XRPCError.notFound("AccountNotFound", "Account not found: \(did)")
        }
        return account
    }

    // MARK: - Deactivation

    /// Deactivates an account: it keeps its sessions and can still log in,
    /// read its status and reactivate, but cannot write, and sync no longer
    /// serves its repository.
    /// - Parameter deleteAfter: the owner's hint of when the account may be
    ///   deleted (a datetime), stored as given.
    public static func deactivate(did: String, deleteAfter: String?, services: PDSServices) async throws {
        try await services.pool.write { db in
            _ = try existing(did: did, db: db)
            try db.execute(
                sql: "UPDATE account SET deactivated_at = COALESCE(deactivated_at, ?), delete_after = ? WHERE did = ?",
                arguments: [AccountStore.now(), deleteAfter, did])
            try db.execute(sql: recomputeStatus, arguments: [did])
            try sequenceStatus(did: did, db: db)
        }
        services.sequencer.notify()
        services.logger.info("account deactivated", metadata: ["did": .string(did)])
    }

    /// Reactivates a deactivated account (an active one stays active).
    public static func activate(did: String, services: PDSServices) async throws {
        try await services.pool.write { db in
            let account = try existing(did: did, db: db)
            try db.execute(sql: "UPDATE account SET deactivated_at = NULL, delete_after = NULL WHERE did = ?", arguments: [did])
            try db.execute(sql: recomputeStatus, arguments: [did])
            // As the reference PDS: the identity, the status, and (now that
            // sync serves the repository again) a #sync of its commit.
            try Sequencer.append(.identity(did: did, handle: account.handle), db: db)
            try sequenceStatus(did: did, db: db)
            if let sync = try SequencerEvent.syncOfStoredRepository(did: did, db: db) { try Sequencer.append(sync, db: db) }
        }
        services.sequencer.notify()
        services.logger.info("account activated", metadata: ["did": .string(did)])
    }

    // MARK: - Takedown

    /// The admin view of an account's status (`com.atproto.admin.defs#statusAttr`s).
    public struct AdminStatus: Sendable {
        public let did: String
        public let takedownRef: String?
        public let deactivatedAt: String?
        public let status: AccountStatus
    }

    /// Takes an account down (ending all its sessions) or lifts the takedown.
    /// - Parameter ref: the takedown's reference; defaults to the current
    ///   time, as in the reference PDS.
    @discardableResult
    public static func setTakedown(did: String, applied: Bool, ref: String?, services: PDSServices) async throws -> AdminStatus {
        let status = try await services.pool.write { db in
            _ = try existing(did: did, db: db)
            let value: String? = applied ? (ref ?? AccountStore.now()) : nil
            try db.execute(sql: "UPDATE account SET takedown_ref = ? WHERE did = ?", arguments: [value, did])
            try db.execute(sql: recomputeStatus, arguments: [did])
            try sequenceStatus(did: did, db: db)
            if applied { try endAllSessions(did: did, db: db) }
            return try adminStatus(did: did, db: db)
        }
        services.sequencer.notify()
        services.logger.notice(
            applied ? "account taken down; sessions ended" : "account takedown lifted",
            metadata: ["did": .string(did), "status": .string(status.status.rawValue)])
        return status
    }

    /// The takedown and deactivation state of an account, or nil when there
    /// is no such account (or it is deleted).
    public static func adminStatus(did: String, services: PDSServices) async throws -> AdminStatus? {
        try await services.pool.read { db in try? adminStatus(did: did, db: db) }
    }

    static func adminStatus(did: String, db: Database) throws -> AdminStatus {
        guard
            let row = try Row.fetchOne(
                db, sql: "SELECT status, takedown_ref, deactivated_at FROM account WHERE did = ? AND status != 'deleted'",
                arguments: [did])
        else { throw XRPCError.notFound("AccountNotFound", "Account not found: \(did)") }
        return AdminStatus(
            did: did, takedownRef: row["takedown_ref"], deactivatedAt: row["deactivated_at"],
            status: AccountStatus(rawValue: row["status"]) ?? .active)
    }

    // MARK: - Deletion

    /// Deletes an account: its repository (blocks, records, root), sessions,
    /// app passwords, pending email tokens and preferences go; the account
    /// row stays as a `deleted` tombstone whose handle (replaced by the DID)
    /// and email are free for new accounts, whose password no longer
    /// matches anything and whose signing key is replaced by a throwaway.
    /// - Parameter inTransaction: runs first inside the deletion's
    ///   transaction (to spend the email token atomically); throwing there
    ///   changes nothing.
    public static func delete(
        did: String, services: PDSServices, inTransaction check: @escaping @Sendable (Database) throws -> Void = { _ in }
    ) async throws {
        try await services.writeLock.withLock(did) {
            try await services.pool.write { db in
                let account = try existing(did: did, db: db)
                try check(db)
                for table in ["blockstore", "record", "repo_root", "refresh_token", "app_password", "email_token", "account_pref"] {
                    try db.execute(sql: "DELETE FROM \(table) WHERE did = ?", arguments: [did])
                }
                try LoginAttemptStore.forgetAccount(did: did, db: db)
                // Its blobs become unreferenced and due: the next collector pass
                // removes the rows, and the files no other account holds.
                try db.execute(sql: "DELETE FROM blob_usage WHERE did = ?", arguments: [did])
                try db.execute(sql: "UPDATE blob_ref SET created_at = 0 WHERE did = ?", arguments: [did])
                let throwaway = PrivateKey.generate(account.signingKey.type)
                try db.execute(
                    sql: """
                        UPDATE account SET status = 'deleted', handle = did, email = NULL, password_hash = '',
                        signing_key = ?, takedown_ref = NULL, delete_after = NULL WHERE did = ?
                        """,
                    arguments: [Data(throwaway.rawRepresentation), did])
                try Sequencer.append(.account(did: did, active: false, status: "deleted"), db: db)
            }
        }
        services.sequencer.notify()
        services.logger.notice("account deleted", metadata: ["did": .string(did)])
    }
}
