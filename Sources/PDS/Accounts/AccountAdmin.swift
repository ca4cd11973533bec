import ATCrypto
import ATProto
import Foundation
import Mail
import Repo
import Sequencer
import ServiceStorage

/// Account operations shared by the XRPC handlers and the `pds account`
/// command line, so both change the database in exactly the same way:
/// creating an account, finding and listing accounts, and setting a
/// password. Status changes (deactivation, takedown, deletion) are in
/// `AccountLifecycle.swift`.
public enum AccountAdmin {
    // MARK: - Creation

    /// Creates an account: checks the handle, password, email and invite
    /// code, makes the did:plc identity and signing key, and writes the
    /// account and its first (empty) commit in one transaction. This is the
    /// core of `com.atproto.server.createAccount`.
    /// - Parameters:
    ///   - inviteRequired: whether a missing invite code is an error (the
    ///     server's setting for XRPC; the command line passes false).
    ///   - recoveryKey: the user's own PLC rotation key (`did:key`), if any.
    /// - Returns: the new account.
    public static func createAccount(
        handle rawHandle: String, email rawEmail: String?, password: String, inviteCode: String?, inviteRequired: Bool,
        recoveryKey rawRecoveryKey: String? = nil, services: PDSServices
    ) async throws -> Account {
        let handle = try HandleRules.validateNew(rawHandle, config: services.config)
        let recoveryKey = try rawRecoveryKey.map { key in
            do {
                return try PublicKey(didKey: key)
            } catch {
                throw XRPCError.invalidRequest("recoveryKey must be a did:key of a secp256k1 or P-256 key: \(error)")
            }
        }
        if let recoveryKey, recoveryKey.type == .ed25519 {
            throw XRPCError.invalidRequest("recoveryKey must be a secp256k1 or P-256 key: PLC directories accept no other")
        }
        try checkPassword(password, errorName: "InvalidPassword")
        let email = try rawEmail.map(checkedEmail)
        if let email {
            if try await services.accounts.emailTaken(email) { throw XRPCError.invalidRequest("Email already taken: \(email)") }
        }
        if inviteRequired && inviteCode == nil {
            throw XRPCError(.badRequest, "InvalidInviteCode", "No invite code provided")
        }
        if try await services.accounts.handleTaken(handle) {
            throw XRPCError(.badRequest, "HandleNotAvailable", "Handle already taken: \(handle)")
        }

        let signingKey = PrivateKey.generate(services.config.signingKeyType)
        let genesis = try PLCGenesis.create(
            handle: handle, signingKey: signingKey.publicKey, rotationKey: services.secrets.rotationKey, recoveryKey: recoveryKey,
            pdsEndpoint: services.config.resolvedPublicURL)
        let did = genesis.did
        let passwordHash = try PasswordHasher.hash(password, strength: services.passwordStrength)
        let firstCommit = try Repository.create(did: did, key: signingKey, rev: services.tids.next())
        let new = NewAccount(
            did: did, handle: handle, email: email, passwordHash: passwordHash, signingKey: signingKey,
            plcGenesis: DAGCBOR.encode(genesis.operation), inviteCode: inviteCode, firstCommit: firstCommit)
        let directoryConfigured = services.plcDirectory != nil
        try await store(new, services: services) { tx in
            try PLCOperationLog.append(genesis.operation, did: did, directoryConfigured: directoryConfigured, in: tx)
            try sequenceNewAccount(did: did, handle: handle, firstCommit: firstCommit, in: tx)
        }
        services.logger.info("account created", metadata: ["did": .string(did.string), "handle": .string(handle.string)])
        // Registered with the directory now when it answers, else retried in
        // the background by the PLC submitter.
        await PLCSubmitter.submitPending(did: did, services: services)
        guard let account = try await services.accounts.account(did: did) else { throw XRPCError.internalError() }
        return account
    }

    /// What a new account is stored with.
    struct NewAccount: Sendable {
        let did: DID
        let handle: Handle
        let email: String?
        let passwordHash: String
        let signingKey: PrivateKey
        /// The signed genesis operation of a did:plc made here.
        let plcGenesis: [UInt8]?
        let inviteCode: String?
        /// The repository's first (empty) commit.
        let firstCommit: CommitResult
    }

    /// Stores a new account in one transaction: spends its invite code,
    /// inserts it and its repository's first commit, then runs `finish`
    /// (its identity operation, its events). A handle or email taken
    /// meanwhile (checked before, raced since) answers `HandleNotAvailable`
    /// and stores nothing.
    static func store(
        _ new: NewAccount, services: PDSServices, finish: @escaping @Sendable (WriteTransaction) throws -> Void
    ) async throws {
        do {
            try await services.storage.write { tx in
                if let inviteCode = new.inviteCode { try InviteCodes.use(inviteCode, by: new.did, in: tx) }
                try AccountStore.insert(
                    did: new.did, handle: new.handle, email: new.email, passwordHash: new.passwordHash,
                    signingKey: new.signingKey, plcGenesis: new.plcGenesis, in: tx)
                try RepoStorage.apply(new.firstCommit, in: tx)
                try finish(tx)
            }
            services.sequencer.notify()
        } catch where StoreFailure.isConstraintViolation(error) {
            throw XRPCError(.badRequest, "HandleNotAvailable", "Handle or email already taken")
        }
    }

    /// Announces a new, active account as the reference PDS does: its
    /// identity, its account status, and its repository's first commit (a
    /// `#sync`). Call inside the transaction that creates it.
    static func sequenceNewAccount(did: DID, handle: Handle, firstCommit: CommitResult, in tx: WriteTransaction) throws {
        try Sequencer.append(.identity(did: did, handle: handle), in: tx)
        try Sequencer.append(.account(did: did, active: true, status: nil), in: tx)
        try Sequencer.append(
            .sync(did: did, commitCID: firstCommit.commitCID, commitBytes: firstCommit.commit.bytes, rev: firstCommit.rev), in: tx)
    }

    /// Checks a new password's length (1 to 256 characters).
    /// - Parameter errorName: the XRPC error name to answer with.
    public static func checkPassword(_ password: String, errorName: String = "InvalidRequest") throws(XRPCError) {
        guard !password.isEmpty, password.count <= 256 else {
            throw XRPCError(.badRequest, errorName, "Password must be 1 to 256 characters")
        }
    }

    // MARK: - Finding and listing

    /// The account a DID, handle or email names, deleted ones excepted.
    public static func find(_ identifier: String, services: PDSServices) async throws -> Account? {
        guard let account = try await services.accounts.account(identifier: identifier), account.status != .deleted
        else { return nil }
        return account
    }

    /// One line of an account listing.
    public struct Summary: Sendable {
        public let did: DID
        public let handle: Handle
        public let email: String?
        public let status: AccountStatus
        public let createdAt: String
    }

    /// Every account that is not deleted, oldest first.
    public static func list(services: PDSServices) async throws -> [Summary] {
        try await services.storage.read { tx in try AccountStore.summaries(in: tx) }
    }

    // MARK: - Passwords

    /// Sets a new password: stores its Argon2id hash, ends every session
    /// (app-password sessions too), forgets pending password-reset tokens
    /// and failed logins. App passwords stay.
    public static func setPassword(did: DID, password: String, services: PDSServices) async throws {
        try checkPassword(password)
        let hash = try PasswordHasher.hash(password, strength: services.passwordStrength)
        try await services.storage.write { tx in
            guard try AccountStore.account(did: did, in: tx).map({ $0.status != .deleted }) == true else {
                throw XRPCError.invalidRequest("Account not found: \(did)")
            }
            try storePasswordHash(hash, did: did, in: tx)
        }
        services.logger.info("password changed; sessions ended", metadata: ["did": .string(did.string)])
    }

    /// The database part of `setPassword`, inside a caller's transaction.
    static func storePasswordHash(_ hash: String, did: DID, in tx: WriteTransaction) throws {
        try AccountStore.setPasswordHash(hash, did: did, in: tx)
        try EmailTokens.forget(.resetPassword, did: did, in: tx)
        try SessionStore.endAll(did: did, in: tx)
        try OAuthGrantStore.revokeAll(did: did, in: tx)
        try LoginAttemptStore.forgetFailures(did: did, in: tx)
    }

    /// A random password of 24 base32 characters (120 bits), for the
    /// command line's `reset-password` without `--password`.
    public static func randomPassword() -> String {
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz234567")
        var rng = SystemRandomNumberGenerator()
        let chars = (0..<24).map { _ in alphabet[Int(rng.next() % 32)] }
        return stride(from: 0, to: 24, by: 6).map { String(chars[$0..<$0 + 6]) }.joined(separator: "-")
    }

    /// An email address as stored: lower case, and one mail can be sent to
    /// (no white space or characters that could smuggle a header).
    static func checkedEmail(_ raw: String) throws -> String {
        let email = raw.trimmingCharacters(in: .whitespaces).lowercased()
        guard MailAddress.isValid(email) else {
            throw XRPCError.invalidRequest("This email address is not supported, please use a different email.")
        }
        return email
    }
}
