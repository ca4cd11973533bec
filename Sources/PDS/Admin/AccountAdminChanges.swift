import ATProto
import Foundation
import ServiceStorage

/// The operator's changes to an account, shared by the admin methods
/// (`com.atproto.admin.*`) and the `pds account` / `pds invite` commands,
/// so both change the database in exactly the same way. Each checks the
/// account exists first: an unknown DID is an error that changes nothing.
extension AccountAdmin {
    /// The account, which must exist and not be deleted.
    static func existing(_ did: DID, services: PDSServices) async throws -> Account {
        try await services.storage.read { tx in try existing(did: did, in: tx) }
    }

    /// Sets the email (unconfirmed) and forgets pending email tokens, as
    /// the reference's `updateAccountEmail` does.
    public static func updateEmail(did: DID, email raw: String, services: PDSServices) async throws {
        let email = try checkedEmail(raw)
        try await services.storage.write { tx in
            _ = try existing(did: did, in: tx)
            if try AccountStore.emailTaken(email, exceptDID: did, in: tx) {
                throw XRPCError.invalidRequest("This email address is already in use, please use a different email.")
            }
            try AccountStore.setEmail(email, did: did, in: tx)
            try EmailTokens.deleteAll(did: did, in: tx)
        }
        services.logger.notice("account email changed by the operator", metadata: ["did": .string(did.string)])
    }

    /// Gives the account a handle, with the same checks as the owner's
    /// `updateHandle` (a handle elsewhere must resolve to the account).
    public static func updateHandle(did: DID, handle: String, services: PDSServices) async throws {
        _ = try await existing(did, services: services)
        try await IdentityMethods.setHandle(handle, did: did, services: services)
    }

    /// Takes away (or gives back) the account's invite codes: a code made
    /// for it no longer creates accounts while they are disabled.
    public static func setInvitesDisabled(did: DID, _ disabled: Bool, services: PDSServices) async throws {
        try await services.storage.write { tx in
            _ = try existing(did: did, in: tx)
            try AccountStore.setInvitesDisabled(disabled, did: did, in: tx)
        }
    }

    /// Disables `codes` and every code made for `accounts`.
    /// - Returns: how many codes it disabled.
    @discardableResult
    public static func disableInviteCodes(codes: [String], accounts: [String], services: PDSServices) async throws -> Int {
        if accounts.contains("admin") { throw XRPCError.invalidRequest("cannot disable admin invite codes") }
        for account in accounts where !DID.isValid(account) {
            throw XRPCError.invalidRequest("accounts must be DIDs: \(account)")
        }
        let disabled = try await services.storage.write { tx in try InviteCodes.disable(codes: codes, forAccounts: accounts, in: tx) }
        services.logger.notice("invite codes disabled", metadata: ["count": .stringConvertible(disabled)])
        return disabled
    }
}
