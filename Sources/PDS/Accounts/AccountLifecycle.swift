import ATCrypto
import ATProto
import Foundation
import Repo
import Sequencer
import ServiceStorage

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
    static func sequenceStatus(did: DID, in tx: WriteTransaction) throws {
        guard let status = try AccountStore.status(did: did, in: tx) else { return }
        try Sequencer.append(.account(did: did, active: status == .active, status: status.rawValue), in: tx)
    }

    /// The account with `did` unless deleted, inside a transaction.
    static func existing(did: DID, in tx: some StoreReading) throws -> Account {
        guard let account = try AccountStore.account(did: did, in: tx), account.status != .deleted else {
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
    public static func deactivate(did: DID, deleteAfter: String?, services: PDSServices) async throws {
        try await services.storage.write { tx in
            _ = try existing(did: did, in: tx)
            try AccountStore.setDeactivated(did: did, deleteAfter: deleteAfter, in: tx)
            try sequenceStatus(did: did, in: tx)
        }
        services.sequencer.notify()
        services.logger.info("account deactivated", metadata: ["did": .string(did.string)])
    }

    /// Reactivates a deactivated account (an active one stays active).
    public static func activate(did: DID, services: PDSServices) async throws {
        try await services.storage.write { tx in
            let account = try existing(did: did, in: tx)
            try AccountStore.clearDeactivation(did: did, in: tx)
            // As the reference PDS: the identity, the status, and (now that
            // sync serves the repository again) a #sync of its commit.
            try Sequencer.append(.identity(did: did, handle: account.handle), in: tx)
            try sequenceStatus(did: did, in: tx)
            if let sync = try SequencerEvent.syncOfStoredRepository(did: did, in: tx) { try Sequencer.append(sync, in: tx) }
        }
        services.sequencer.notify()
        services.logger.info("account activated", metadata: ["did": .string(did.string)])
    }

    // MARK: - Takedown

    /// The admin view of an account's status (`com.atproto.admin.defs#statusAttr`s).
    public struct AdminStatus: Sendable {
        public let did: DID
        public let takedownRef: String?
        public let deactivatedAt: String?
        public let status: AccountStatus
    }

    /// Takes an account down (ending all its sessions) or lifts the takedown.
    /// - Parameter ref: the takedown's reference; defaults to the current
    ///   time, as in the reference PDS.
    @discardableResult
    public static func setTakedown(did: DID, applied: Bool, ref: String?, services: PDSServices) async throws -> AdminStatus {
        let status = try await services.storage.write { tx in
            _ = try existing(did: did, in: tx)
            try AccountStore.setTakedownRef(applied ? (ref ?? AccountStore.now()) : nil, did: did, in: tx)
            try sequenceStatus(did: did, in: tx)
            if applied {
                try SessionStore.endAll(did: did, in: tx)
                try OAuthGrantStore.revokeAll(did: did, in: tx)
            }
            return try adminStatus(did: did, in: tx)
        }
        services.sequencer.notify()
        services.logger.notice(
            applied ? "account taken down; sessions ended" : "account takedown lifted",
            metadata: ["did": .string(did.string), "status": .string(status.status.rawValue)])
        return status
    }

    /// The takedown and deactivation state of an account, or nil when there
    /// is no such account (or it is deleted).
    public static func adminStatus(did: DID, services: PDSServices) async throws -> AdminStatus? {
        try await services.storage.read { tx in try AccountStore.adminStatus(did: did, in: tx) }
    }

    /// The takedown and deactivation state of an account that is not
    /// deleted, inside a transaction.
    static func adminStatus(did: DID, in tx: some StoreReading) throws -> AdminStatus {
        guard let status = try AccountStore.adminStatus(did: did, in: tx) else {
            throw XRPCError.notFound("AccountNotFound", "Account not found: \(did)")
        }
        return status
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
        did: DID, services: PDSServices, inTransaction check: @escaping @Sendable (WriteTransaction) throws -> Void = { _ in }
    ) async throws {
        try await services.writeLock.withLock(did) {
            try await services.storage.write { tx in
                let account = try existing(did: did, in: tx)
                try check(tx)
                try RepoStorage.delete(did: did, in: tx)
                try SessionStore.endAll(did: did, in: tx)
                try OAuthGrantStore.revokeAll(did: did, in: tx)
                try AppPasswords.deleteAll(did: did, in: tx)
                try EmailTokens.deleteAll(did: did, in: tx)
                try PreferenceStore.delete(did: did, in: tx)
                try LoginAttemptStore.forgetAccount(did: did, in: tx)
                // Its blobs become unreferenced and due: the next collector pass
                // removes the rows, and the files no other account holds.
                try BlobTracking.releaseAll(did: did, in: tx)
                try AccountStore.markDeleted(did: did, throwaway: PrivateKey.generate(account.signingKey.type), in: tx)
                try Sequencer.append(.account(did: did, active: false, status: "deleted"), in: tx)
            }
        }
        services.sequencer.notify()
        services.logger.notice("account deleted", metadata: ["did": .string(did.string)])
    }
}
