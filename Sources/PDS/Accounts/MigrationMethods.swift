import ATCrypto
import ATProto
import CAR
import Foundation
import Repo
import Sequencer
import ServiceStorage

/// Account migration onto this server: `com.atproto.repo.importRepo` (the
/// repository as a CAR) and `com.atproto.repo.listMissingBlobs` (what the
/// imported records reference that has not been uploaded yet). Both accept
/// deactivated accounts, since a migrating account is activated last.
enum MigrationMethods {
    static func register(_ methods: inout XRPCMethods) {
        methods.procedure("com.atproto.repo.importRepo", importRepo)
        methods.query("com.atproto.repo.listMissingBlobs", listMissingBlobs)
        methods.procedure("com.atproto.server.reserveSigningKey", reserveSigningKey)
        methods.query("com.atproto.temp.checkSignupQueue", checkSignupQueue)
    }

    /// Reservations per client address (the method needs no sign-in, and
    /// each one is a row).
    static let reserveLimit = RateLimiter.Limit(name: "reserve-signing-key", max: 100, window: 300)

    /// A signing key for an account still to be created here, as the
    /// reference PDS does it: for `did` the same key each time until the
    /// account is created with it (or a week passes); without a DID, a new
    /// one. - Returns: `{signingKey: did:key}`.
    static func reserveSigningKey(_ call: XRPCCall) async throws -> XRPCResult {
        try await AccountMethods.limit(call, reserveLimit)
        let input = try await AccountMethods.optionalBody(call)
        let did = try input.optionalString("did").map { raw -> DID in
            guard let did = try? DID(raw) else { throw XRPCError.invalidRequest("Input/did must be a valid DID") }
            return did
        }
        let type = call.services.config.signingKeyType
        let now = Int(Date().timeIntervalSince1970)
        let key = try await call.services.storage.write { tx in try ReservedSigningKeys.reserve(for: did, type: type, now: now, in: tx) }
        return .json(["signingKey": .string(key.publicKey.didKey)])
    }

    /// There is no signup queue here: every account is active at once.
    static func checkSignupQueue(_ call: XRPCCall) async throws -> XRPCResult {
        let user = try await call.authenticate(allowInactive: true)
        if user.oauthScope != nil { throw XRPCError.forbidden("OAuth credentials are not supported for this endpoint") }
        return .json(["activated": true])
    }

    /// Streams the CAR to a temporary file (up to `repoImportLimit` bytes),
    /// verifies it as the caller's repository and replaces the caller's
    /// repository with it, rebuilding `blob_usage` in the same transaction.
    /// The commit must be signed by the account's key (``acceptedSigningKeys``),
    /// its rev no more than 5 minutes ahead of the clock and after the stored
    /// rev (but for a migrating account's placeholder, before its first
    /// import). A CAR that fails any of this is refused with 400 and changes
    /// nothing.
    static func importRepo(_ call: XRPCCall) async throws -> XRPCResult {
        let user = try await call.authenticate(allowAppPassword: false, allowInactive: true, permission: .account(.repo, .manage))
        let services = call.services
        let file = try await RequestBodyFile.receive(
            call, limit: services.config.repoImportLimit, into: services.blobStore.temporaryDirectory)
        defer { file.remove() }
        guard file.size > 0 else { throw XRPCError.invalidRequest("Request body is required") }
        let did = user.did
        let rules = RepoImportRules(
            signingKeys: await acceptedSigningKeys(user.account, services: services), requireNewerRev: true,
            emptyRepositoryMayBeReplaced: user.account.awaitingImport)
        let verification = try await services.writeLock.withLock(did) {
            try await runBlocking {
                let handle = try FileHandle(forReadingFrom: file.url)
                defer { try? handle.close() }
                do {
                    return try services.repos.importCAR(
                        FileByteSource(handle), expectedDID: did, rules: rules,
                        alsoInTransaction: RepoImport.afterImport)
                } catch where StoreFailure.isDatabaseError(error) {
                    throw error
                } catch {
                    throw XRPCError.invalidRequest("Could not import the repository: \(error)")
                }
            }
        }
        services.sequencer.notify()
        services.logger.info(
            "repository imported",
            metadata: ["did": .string(did.string), "rev": .string(verification.rev),
                       "records": .stringConvertible(verification.recordCount)])
        return .empty
    }

    /// The keys an imported commit may be signed with: the account's key
    /// here, and the `#atproto` key its DID document names now (during a
    /// migration, the old server's, which signed the exported repository).
    /// A document that cannot be resolved adds nothing.
    static func acceptedSigningKeys(_ account: Account, services: PDSServices) async -> [PublicKey] {
        var keys = [account.signingKey.publicKey]
        if let document = try? await services.identity.dids.resolve(account.did, forceRefresh: true),
            let published = document.signingKey, published != keys[0]
        {
            keys.append(published)
        }
        return keys
    }

    /// Blobs the caller's records reference that the caller has not
    /// uploaded, in CID order, each with one record referencing it.
    static func listMissingBlobs(_ call: XRPCCall) async throws -> XRPCResult {
        let user = try await call.authenticate(allowInactive: true)
        let limit = try call.intParam("limit", default: 500, range: 1...1000)
        let cursor = call.param("cursor")
        if let cursor { _ = try BlobMethods.blobCID(cursor) }
        let rows = try await call.services.storage.read { tx in
            try BlobTracking.missingBlobs(did: user.did, after: cursor, limit: limit, in: tx)
        }
        let blobs: [DataValue] = rows.map { ["cid": .string($0.cid), "recordUri": .string(ATURI.record(user.did, path: $0.path).string)] }
        var body: DataMap = ["blobs": .array(blobs)]
        if rows.count == limit, let last = rows.last { body["cursor"] = .string(last.cid) }
        return .json(.map(body))
    }

    /// Runs blocking work (file reads, a long transaction) off the
    /// cooperative thread pool.
    static func runBlocking<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(with: Result { try work() }) }
        }
    }
}

/// Shared by `importRepo` and `pds repo import`.
public enum RepoImport {
    /// What an import (by `importRepo` or `pds repo import`) also does in its
    /// transaction: rebuild the blob usage of the records, and announce the
    /// new repository on the firehose with a `#sync` (consumers cannot follow
    /// a replaced repository commit by commit).
    public static func afterImport(_ tx: WriteTransaction, did: DID) throws {
        try AccountStore.setAwaitingImport(false, did: did, in: tx)
        try BlobTracking.rebuild(in: tx, did: did)
        if let sync = try SequencerEvent.syncOfStoredRepository(did: did, in: tx) {
            try Sequencer.append(sync, in: tx)
        }
    }
}
