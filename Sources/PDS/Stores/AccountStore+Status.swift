import ATCrypto
import ATProto
import Foundation
import GRDB
import ServiceStorage

/// The status columns of `account` (see `AccountLifecycle.swift` for the
/// rules): `status` is derived from the facts stored beside it, so a
/// takedown (`takedown_ref` set) wins over a deactivation (`deactivated_at`
/// set), and lifting a takedown returns the account to `deactivated` or
/// `active`, whichever it was. `deleted` is final.
extension AccountStore {
    /// SQL that recomputes `status` from `takedown_ref` and `deactivated_at`.
    private static let recomputeStatus = """
        UPDATE account SET status = CASE
            WHEN takedown_ref IS NOT NULL THEN 'takendown'
            WHEN deactivated_at IS NOT NULL THEN 'deactivated'
            ELSE 'active' END
        WHERE did = ? AND status != 'deleted'
        """

    /// The stored status of an account, or nil when there is none.
    static func status(did: DID, in tx: some StoreReading) throws -> AccountStatus? {
        try String.fetchOne(tx.db, sql: "SELECT status FROM account WHERE did = ?", arguments: [did]).map {
            AccountStatus(rawValue: $0) ?? .active
        }
    }

    /// Marks the account deactivated (keeping an earlier deactivation's
    /// time) with the owner's deletion hint, and recomputes its status.
    static func setDeactivated(did: DID, deleteAfter: String?, in tx: WriteTransaction) throws {
        try tx.db.execute(
            sql: "UPDATE account SET deactivated_at = COALESCE(deactivated_at, ?), delete_after = ? WHERE did = ?",
            arguments: [AccountStore.now(), deleteAfter, did])
        try tx.db.execute(sql: recomputeStatus, arguments: [did])
    }

    /// Clears the account's deactivation and recomputes its status.
    static func clearDeactivation(did: DID, in tx: WriteTransaction) throws {
        try tx.db.execute(sql: "UPDATE account SET deactivated_at = NULL, delete_after = NULL WHERE did = ?", arguments: [did])
        try tx.db.execute(sql: recomputeStatus, arguments: [did])
    }

    /// Marks a migrating account deactivated until it activates, without a
    /// deletion hint (see `AccountMigration.swift`).
    static func setDeactivatedForMigration(did: DID, in tx: WriteTransaction) throws {
        try tx.db.execute(sql: "UPDATE account SET deactivated_at = ? WHERE did = ?", arguments: [AccountStore.now(), did])
        try tx.db.execute(sql: recomputeStatus, arguments: [did])
    }

    /// Sets (or, with nil, lifts) the account's takedown and recomputes its
    /// status.
    static func setTakedownRef(_ ref: String?, did: DID, in tx: WriteTransaction) throws {
        try tx.db.execute(sql: "UPDATE account SET takedown_ref = ? WHERE did = ?", arguments: [ref, did])
        try tx.db.execute(sql: recomputeStatus, arguments: [did])
    }

    /// The takedown and deactivation state of an account that is not
    /// deleted, or nil.
    static func adminStatus(did: DID, in tx: some StoreReading) throws -> AccountAdmin.AdminStatus? {
        guard
            let row = try Row.fetchOne(
                tx.db, sql: "SELECT status, takedown_ref, deactivated_at FROM account WHERE did = ? AND status != 'deleted'",
                arguments: [did])
        else { return nil }
        return AccountAdmin.AdminStatus(
            did: did, takedownRef: row["takedown_ref"], deactivatedAt: row["deactivated_at"],
            status: AccountStatus(rawValue: row["status"]) ?? .active)
    }

    /// When the account's email was confirmed and when it was deactivated
    /// (datetimes), for the admin's account view.
    static func emailConfirmationAndDeactivation(did: DID, in tx: some StoreReading) throws
        -> (emailConfirmedAt: String?, deactivatedAt: String?)
    {
        let row = try Row.fetchOne(tx.db, sql: "SELECT email_confirmed_at, deactivated_at FROM account WHERE did = ?", arguments: [did])
        return (row?["email_confirmed_at"], row?["deactivated_at"])
    }

    /// Turns the account row into a `deleted` tombstone: its handle
    /// (replaced by the DID) and email are freed, its password matches
    /// nothing and its signing key is replaced by `throwaway`.
    static func markDeleted(did: DID, throwaway: PrivateKey, in tx: WriteTransaction) throws {
        try tx.db.execute(
            sql: """
                UPDATE account SET status = 'deleted', handle = did, email = NULL, password_hash = '',
                signing_key = ?, takedown_ref = NULL, delete_after = NULL WHERE did = ?
                """,
            arguments: [Data(throwaway.rawRepresentation), did])
    }
}
