import ATCrypto
import ATProto
import Foundation
import Identity
import Sequencer
import ServiceStorage

/// `com.atproto.identity.*`: resolving handles, changing one's handle, and
/// the did:plc operations of account migration (recommended credentials,
/// an emailed token, signing and submitting an operation).
enum IdentityMethods {
    static func register(_ methods: inout XRPCMethods) {
        methods.query("com.atproto.identity.resolveHandle", resolveHandle)
        methods.procedure("com.atproto.identity.updateHandle", updateHandle)
        methods.query("com.atproto.identity.getRecommendedDidCredentials", getRecommendedDidCredentials)
        methods.procedure("com.atproto.identity.requestPlcOperationSignature", requestPlcOperationSignature)
        methods.procedure("com.atproto.identity.signPlcOperation", signPlcOperation)
        methods.procedure("com.atproto.identity.submitPlcOperation", submitPlcOperation)
    }

    // MARK: - Handles

    /// Local accounts first; a handle under one of our domains that no
    /// account holds does not exist; anything else through DNS, then HTTPS.
    static func resolveHandle(_ call: XRPCCall) async throws -> XRPCResult {
        let raw = try call.requiredParam("handle")
        guard Handle.isValid(raw) else { throw XRPCError.invalidRequest("Error: handle must be a valid handle") }
        let handle = raw.lowercased()
        let services = call.services
        if let account = try await services.accounts.account(identifier: handle), account.status != .deleted {
            return .json(["did": .string(account.did.string)])
        }
        if isServed(handle, config: services.config) {
            throw XRPCError(.badRequest, "HandleNotFound", "Unable to resolve handle")
        }
        do {
            return .json(["did": .string(try await services.identity.handles.resolve(handle).string)])
        } catch {
            call.context.logger.info("handle resolution failed", metadata: ["handle": .string(handle), "error": "\(error)"])
            throw XRPCError(.badRequest, "HandleNotFound", "Unable to resolve handle")
        }
    }

    /// Whether `handle` is under one of the server's user domains.
    static func isServed(_ handle: String, config: PDSConfig) -> Bool {
        config.availableUserDomains.contains { handle.hasSuffix($0.lowercased()) }
    }

    /// Changes the caller's handle: one under our domains follows the
    /// creation rules; any other must already resolve to the caller's DID.
    /// The handle, a did:plc operation with the new `alsoKnownAs` and an
    /// `#identity` event are written in one transaction; the operation is
    /// then submitted to the directory (and retried if it is unreachable).
    static func updateHandle(_ call: XRPCCall) async throws -> XRPCResult {
        let user = try await call.authenticate(allowAppPassword: true, permission: .identity("handle"))
        let services = call.services
        try limitIdentityChange(call, did: user.did)
        let raw = try await call.jsonBody().requiredString("handle")
        try await setHandle(raw, did: user.did, services: services)
        return .empty
    }

    /// Gives `did` the handle `raw`: one under this server's domains must
    /// follow its rules; any other must already resolve to `did`. Changes
    /// the DID document (a did:plc operation) and announces `#identity`.
    /// Shared by `updateHandle`, `com.atproto.admin.updateAccountHandle`
    /// and `pds account update-handle`.
    static func setHandle(_ raw: String, did: DID, services: PDSServices) async throws {
        guard let given = try? Handle(raw) else { throw XRPCError(.badRequest, "InvalidHandle", "Not a valid handle: \(raw)") }
        let lowered = given.normalized
        let handle = isServed(lowered.string, config: services.config)
            ? try HandleRules.validateNew(lowered.string, config: services.config) : lowered
        if !isServed(handle.string, config: services.config) {
            if handle.isDisallowedTLD {
                throw XRPCError(.badRequest, "InvalidHandle", "Handle TLD is not allowed: \(handle)")
            }
            let resolved: DID
            do {
                resolved = try await services.identity.handles.resolve(handle.string)
            } catch {
                throw XRPCError(.badRequest, "InvalidHandle", "External handle did not resolve to DID (\(error))")
            }
            guard resolved == did else {
                throw XRPCError(.badRequest, "InvalidHandle", "External handle resolves to another DID: \(resolved)")
            }
        }
        try await changeIdentity(did: did, services: services) { tx, account in
            if account.handle != handle {
                if try AccountStore.handleTaken(handle, exceptDID: did, in: tx) {
                    throw XRPCError(.badRequest, "HandleNotAvailable", "Handle already taken: \(handle)")
                }
                try AccountStore.setHandle(handle, did: did, in: tx)
            }
            return (handle, { $0["alsoKnownAs"] = DIDDocument.alsoKnownAs(handle) })
        }
        services.logger.info("handle updated", metadata: ["did": .string(did.string), "handle": .string(handle.string)])
    }

    /// Each identity method's limits per account, the reference PDS's for
    /// `updateHandle`: 10 calls in 5 minutes and 50 in a day. Every handle
    /// change queues a did:plc operation (60 calls in a row used to queue 61),
    /// so the PLC methods get the same.
    static let identityLimits: [(window: Int, max: Int)] = [(300, 10), (86_400, 50)]

    /// Counts one call of the current identity method for `did`; refuses
    /// with 429 past either limit.
    static func limitIdentityChange(_ call: XRPCCall, did: DID) throws(XRPCError) {
        for limit in identityLimits {
            let named = RateLimiter.Limit(name: "\(call.method)/\(limit.window)", max: limit.max, window: limit.window)
            if let wait = call.services.rateLimiter.hit(named, key: did.string) {
                throw XRPCError.rateLimited(retryAfter: wait)
            }
        }
    }

    /// Changes an account's identity in one transaction: `change` updates
    /// the account and returns the handle to announce and how the did:plc
    /// document changes; a did:plc account gets a new operation after its
    /// latest one (when it changes anything), and an `#identity` event is
    /// appended. The operation is submitted afterwards.
    static func changeIdentity(
        did: DID, services: PDSServices,
        _ change: @escaping @Sendable (WriteTransaction, Account) throws -> (handle: Handle, edit: @Sendable (inout DataMap) -> Void)
    ) async throws {
        let isPLC = did.method == "plc"
        let previous = isPLC ? try await latestOperation(did: did, services: services) : nil
        try await services.writeLock.withLock(did) {
            try await services.storage.write { tx in
                let account = try AccountAdmin.existing(did: did, in: tx)
                let (handle, edit) = try change(tx, account)
                if isPLC, let previous = try PLCOperationLog.latest(did: did, in: tx) ?? previous {
                    let operation = try PLCOperation.next(after: previous, rotationKey: services.secrets.rotationKey, change: edit)
                    if !sameContent(operation, previous) {
                        try PLCOperationLog.append(operation, did: did, directoryConfigured: services.plcDirectory != nil, in: tx)
                    }
                }
                try Sequencer.append(.identity(did: did, handle: handle), in: tx)
            }
        }
        services.sequencer.notify()
        await services.identity.dids.purge(did)
        await PLCSubmitter.submitPending(did: did, services: services)
    }

    /// Whether two operations say the same (ignoring `prev` and `sig`).
    static func sameContent(_ a: DataValue, _ b: DataValue) -> Bool {
        let keys = ["rotationKeys", "verificationMethods", "alsoKnownAs", "services"]
        return keys.allSatisfy { a[$0] == b[$0] } && b["type"]?.stringValue == "plc_operation"
    }

    /// The latest operation of a did:plc: the last one stored here, else
    /// the directory's.
    static func latestOperation(did: DID, services: PDSServices) async throws -> DataValue {
        if let local = try await services.storage.read({ tx in try PLCOperationLog.latest(did: did, in: tx) }) { return local }
        guard let directory = services.plcDirectory else {
            throw XRPCError(.badRequest, "InvalidRequest", "No PLC directory is configured and no operation of \(did) is stored here")
        }
        return try await directory.lastOperation(did: did)
    }

    // MARK: - PLC operations

    static func getRecommendedDidCredentials(_ call: XRPCCall) async throws -> XRPCResult {
        let user = try await call.authenticate(allowInactive: true, permission: .identity("*"))
        let services = call.services
        return .json(.map(PLCOperation.credentials(
            handle: user.account.handle, signingKey: user.account.signingKey.publicKey,
            rotationKeys: [services.secrets.rotationKey.publicKey.didKey], pdsEndpoint: services.config.resolvedPublicURL)))
    }

    static func requestPlcOperationSignature(_ call: XRPCCall) async throws -> XRPCResult {
        let user = try await call.authenticate(allowAppPassword: false, allowInactive: true, permission: .identity("*"))
        try limitIdentityChange(call, did: user.did)
        guard user.did.method == "plc" else { throw XRPCError.invalidRequest("Only did:plc identities have PLC operations") }
        try await AccountMail.sendToken(.plcOperation, account: user.account, services: call.services)
        return .empty
    }

    /// Signs, with this server's rotation key, the operation after the
    /// account's latest one with the fields the caller gives (the others
    /// kept); needs the emailed token. The operation is returned, not
    /// submitted.
    static func signPlcOperation(_ call: XRPCCall) async throws -> XRPCResult {
        let user = try await call.authenticate(allowAppPassword: false, allowInactive: true, permission: .identity("*"))
        try limitIdentityChange(call, did: user.did)
        let services = call.services
        let input = try await call.jsonBody()
        let token = try input.requiredString("token")
        guard user.did.method == "plc" else { throw XRPCError.invalidRequest("Only did:plc identities have PLC operations") }
        for key in ["rotationKeys", "alsoKnownAs"] {
            if let value = input[key], value.arrayValue?.allSatisfy({ $0.stringValue != nil }) != true {
                throw XRPCError.invalidRequest("Input/\(key) must be an array of strings")
            }
        }
        for key in ["verificationMethods", "services"] where input[key] != nil && input[key]?.mapValue == nil {
            throw XRPCError.invalidRequest("Input/\(key) must be an object")
        }
        let previous = try await latestOperation(did: user.did, services: services)
        let rotationKeys = previous["rotationKeys"]?.arrayValue?.compactMap(\.stringValue) ?? []
        guard rotationKeys.contains(services.secrets.rotationKey.publicKey.didKey) else {
            throw XRPCError.invalidRequest("This server's rotation key cannot sign operations for \(user.did)")
        }
        let now = Int(Date().timeIntervalSince1970)
        try await services.storage.write { tx in
            _ = try EmailTokens.spend(.plcOperation, token: token, did: user.did, in: tx, now: now)
        }
        let operation = try PLCOperation.next(after: previous, rotationKey: services.secrets.rotationKey) { map in
            for key in ["rotationKeys", "alsoKnownAs", "verificationMethods", "services"] {
                if let value = input[key] { map[key] = value }
            }
        }
        return .json(["operation": operation])
    }

    /// Submits an operation for the caller's DID after checking it keeps
    /// the account working here (this server's rotation key, the account's
    /// signing key, this server as PDS); then announces the identity.
    static func submitPlcOperation(_ call: XRPCCall) async throws -> XRPCResult {
        let user = try await call.authenticate(allowAppPassword: false, allowInactive: true, permission: .identity("*"))
        try limitIdentityChange(call, did: user.did)
        let services = call.services
        guard case .map(let operation)? = try await call.jsonBody()["operation"] else {
            throw XRPCError.invalidRequest("Input must have the property \"operation\" as an object")
        }
        guard user.did.method == "plc" else { throw XRPCError.invalidRequest("Only did:plc identities have PLC operations") }
        let rotationKeys = operation["rotationKeys"]?.arrayValue?.compactMap(\.stringValue) ?? []
        guard rotationKeys.contains(services.secrets.rotationKey.publicKey.didKey) else {
            throw XRPCError.invalidRequest("Rotation keys do not include server's rotation key")
        }
        guard operation["services"]?["atproto_pds"]?["type"]?.stringValue == "AtprotoPersonalDataServer" else {
            throw XRPCError.invalidRequest("Missing atproto PDS service")
        }
        guard operation["services"]?["atproto_pds"]?["endpoint"]?.stringValue == services.config.resolvedPublicURL else {
            throw XRPCError.invalidRequest("Incorrect endpoint on atproto PDS service")
        }
        guard operation["verificationMethods"]?["atproto"]?.stringValue == user.account.signingKey.publicKey.didKey else {
            throw XRPCError.invalidRequest("Incorrect signing key")
        }
        let handle = operation["alsoKnownAs"]?.arrayValue?.first?.stringValue
        guard handle == "at://" + user.account.handle.string else {
            throw XRPCError.invalidRequest("Incorrect handle in alsoKnownAs")
        }
        guard let directory = services.plcDirectory else {
            throw XRPCError(.badRequest, "InvalidRequest", "No PLC directory is configured")
        }
        do {
            try await directory.submit(.map(operation), did: user.did)
        } catch .rejected(let why) {
            throw XRPCError.invalidRequest(why)
        } catch .unreachable(let why) {
            throw XRPCError(.badGateway, "UpstreamFailure", "The PLC directory is unreachable: \(why)")
        }
        try await services.storage.write { tx in
            try PLCOperationLog.append(.map(operation), did: user.did, directoryConfigured: true, in: tx)
            try PLCOperationLog.markSubmitted(cid: PLCOperation.cid(.map(operation)).string, in: tx)
            try Sequencer.append(.identity(did: user.did, handle: user.account.handle), in: tx)
        }
        services.sequencer.notify()
        await services.identity.dids.purge(user.did)
        return .empty
    }
}
