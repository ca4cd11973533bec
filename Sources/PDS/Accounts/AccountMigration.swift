import ATCrypto
import ATProto
import Foundation
import Identity
import Repo
import Sequencer
import ServiceStorage

/// Account migration into this server: `createAccount` with an existing
/// `did`, authorized by a service token the account's current PDS issued
/// (`getServiceAuth` with `aud` this server and `lxm`
/// `com.atproto.server.createAccount`), verified against the DID's document.
/// The account starts deactivated with a new signing key and an empty
/// repository; the client then imports the repository and blobs, moves the
/// DID (a PLC operation with this server's recommended credentials) and
/// activates it.
///
/// A new did:web account (bring your own domain) needs no token: the
/// domain's `did.json` must name this server; the account starts
/// deactivated, the owner adds the key from `getRecommendedDidCredentials`
/// to the document, and `activateAccount` checks it.
///
/// A did:web under this server's own domains (``HostedDidWeb``) needs
/// neither: its handle must be the DID's host, its document is served here,
/// and the account is created active.
extension AccountAdmin {
    public static func createMigratingAccount(
        did rawDID: String, handle rawHandle: String, email rawEmail: String?, password: String, inviteCode: String?,
        serviceToken: String?, services: PDSServices
    ) async throws -> Account {
        guard let did = try? DID(rawDID), did.method == "plc" || did.method == "web" else {
            throw XRPCError.invalidRequest("Only did:plc and did:web accounts can move here: \(rawDID)")
        }
        let hosted = HostedDidWeb.isHosted(did, config: services.config)
        if hosted {
            guard HostedDidWeb.host(of: did) == rawHandle.lowercased() else {
                throw XRPCError.invalidRequest("A did:web under this server's domains must be the handle's own: did:web:\(rawHandle.lowercased())")
            }
        } else if let serviceToken, ServiceAuth.looksLikeServiceToken(serviceToken) {
            let issuer = try await ServiceAuth.verifyUserToken(serviceToken, lxm: "com.atproto.server.createAccount", services: services)
            guard issuer == did else { throw XRPCError.invalidToken("The service token was issued by \(issuer), not \(did)") }
        } else if did.method == "web" {
            // A new did:web (bring your own domain): the domain's document
            // must already name this server; activation later requires it
            // to name the account's key too.
            let document: ResolvedDIDDocument
            do {
                document = try await services.identity.dids.resolve(did, forceRefresh: true)
            } catch {
                throw XRPCError.invalidRequest("Could not resolve \(did): \(error)")
            }
            guard document.pdsEndpoint == services.config.resolvedPublicURL else {
                throw XRPCError.invalidRequest(
                    "The DID document of \(did) must name this server (\(services.config.resolvedPublicURL)) as its #atproto_pds service")
            }
        } else {
            throw XRPCError.authRequired("Creating an account with an existing DID needs a service token from its current PDS")
        }
        let handle = try HandleRules.validateNew(rawHandle, config: services.config)
        try checkPassword(password, errorName: "InvalidPassword")
        let email = rawEmail?.lowercased()
        if let email, try await services.accounts.emailTaken(email) { throw XRPCError.invalidRequest("Email already taken: \(email)") }
        if services.config.inviteRequired && inviteCode == nil {
            throw XRPCError(.badRequest, "InvalidInviteCode", "No invite code provided")
        }
        if try await services.accounts.handleTaken(handle) {
            throw XRPCError(.badRequest, "HandleNotAvailable", "Handle already taken: \(handle)")
        }
        if try await services.accounts.account(did: did) != nil {
            throw XRPCError(.badRequest, "AlreadyExists", "An account with this DID already exists here")
        }
        // The key reserveSigningKey made for this DID, which the account's
        // PLC operation may already name.
        let reserved = try await services.storage.read { tx in try ReservedSigningKeys.key(for: did, in: tx) }
        let signingKey = reserved ?? PrivateKey.generate(services.config.signingKeyType)
        let passwordHash = try PasswordHasher.hash(password, strength: services.passwordStrength)
        // An empty repository until `importRepo` replaces it (a new did:web
        // account keeps it).
        let firstCommit = try Repository.create(did: did, key: signingKey, rev: services.tids.next())
        let new = NewAccount(
            did: did, handle: handle, email: email, passwordHash: passwordHash, signingKey: signingKey, plcGenesis: nil,
            inviteCode: inviteCode, firstCommit: firstCommit)
        try await store(new, services: services) { tx in
            try ReservedSigningKeys.release(did, in: tx)
            if hosted {
                // Its document is served here: active at once, announced as a new account is.
                try sequenceNewAccount(did: did, handle: handle, firstCommit: firstCommit, in: tx)
            } else {
                try AccountStore.setDeactivatedForMigration(did: did, in: tx)
                try AccountStore.setAwaitingImport(true, did: did, in: tx)
                try sequenceStatus(did: did, in: tx)
            }
        }
        services.logger.info(
            hosted ? "did:web account created (document served here)" : "migrating account created (deactivated)",
            metadata: ["did": .string(did.string), "handle": .string(handle.string)])
        guard let account = try await services.accounts.account(did: did) else { throw XRPCError.internalError() }
        return account
    }
}

/// The check `activateAccount` makes: the account's DID document names this
/// server and the account's signing key. A did:web must resolve; a did:plc
/// is checked when a PLC directory is configured.
enum DIDDocumentCheck {
    static func assertPointsHere(_ account: Account, services: PDSServices) async throws {
        let isWeb = account.did.method == "web"
        // A hosted did:web's document is made here from the account itself.
        guard !HostedDidWeb.isHosted(account.did, config: services.config) else { return }
        guard isWeb || services.plcDirectory != nil else { return }
        let document: ResolvedDIDDocument
        do {
            document = try await services.identity.dids.resolve(account.did, forceRefresh: true)
        } catch {
            throw XRPCError.invalidRequest("Could not resolve the DID document of \(account.did): \(error)")
        }
        guard document.pdsEndpoint == services.config.resolvedPublicURL else {
            throw XRPCError.invalidRequest("The DID document does not name this server as the account's PDS")
        }
        guard document.signingKey == account.signingKey.publicKey else {
            throw XRPCError.invalidRequest(
                "The DID document's #atproto key is not this account's signing key (see getRecommendedDidCredentials)")
        }
    }
}
