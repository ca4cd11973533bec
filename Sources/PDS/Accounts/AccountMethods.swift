import ATProto
import Foundation
import ServiceStorage

/// `com.atproto.server.*` methods of an account's lifecycle: its status,
/// deactivation and reactivation, deletion, and password reset.
enum AccountMethods {
    static func register(_ methods: inout XRPCMethods) {
        methods.query("com.atproto.server.checkAccountStatus", checkAccountStatus)
        methods.procedure("com.atproto.server.activateAccount", activateAccount)
        methods.procedure("com.atproto.server.deactivateAccount", deactivateAccount)
        methods.procedure("com.atproto.server.requestAccountDelete", requestAccountDelete)
        methods.procedure("com.atproto.server.deleteAccount", deleteAccount)
        methods.procedure("com.atproto.server.requestPasswordReset", requestPasswordReset)
        methods.procedure("com.atproto.server.resetPassword", resetPassword)
    }

    /// Per client address limits of the unauthenticated token methods (the
    /// reference PDS's: 15 reset requests an hour, 50 uses per 5 minutes).
    static let requestLimit = RateLimiter.Limit(name: "email-token-request", max: 15, window: 3600)
    static let spendLimit = RateLimiter.Limit(name: "email-token-spend", max: 50, window: 300)

    static func limit(_ call: XRPCCall, _ limit: RateLimiter.Limit) async throws {
        if let wait = call.services.rateLimiter.hit(limit, key: call.clientAddress) {
            throw XRPCError.rateLimited(retryAfter: wait)
        }
    }

    /// The JSON body when one was sent, else an empty object (for procedures
    /// whose input is optional).
    static func optionalBody(_ call: XRPCCall) async throws -> DataMap {
        let buffer = try await call.bodyBytes(limit: call.services.config.maxRequestBody)
        guard buffer.readableBytes > 0 else { return [:] }
        do {
            return try ATProtoJSON.decodeRecord(buffer.readableBytesView)
        } catch {
            throw XRPCError.invalidRequest("Invalid JSON body: \(error)")
        }
    }

    // MARK: - Status

    static func checkAccountStatus(_ call: XRPCCall) async throws -> XRPCResult {
        let user = try await call.authenticate(allowInactive: true, permission: .account(.status, .read))
        return .json(try await AccountStatusReport.compute(for: user.account, services: call.services).json)
    }

    static func activateAccount(_ call: XRPCCall) async throws -> XRPCResult {
        let user = try await call.authenticate(allowAppPassword: false, allowInactive: true, permission: .account(.status, .manage))
        if user.account.status == .deactivated {
            try await DIDDocumentCheck.assertPointsHere(user.account, services: call.services)
        }
        try await AccountAdmin.activate(did: user.did, services: call.services)
        return .empty
    }

    static func deactivateAccount(_ call: XRPCCall) async throws -> XRPCResult {
        let user = try await call.authenticate(allowAppPassword: false, allowInactive: true, permission: .account(.status, .manage))
        let input = try await optionalBody(call)
        let deleteAfter = try input.optionalString("deleteAfter")
        if let deleteAfter, !ATDatetime.isValid(deleteAfter) {
            throw XRPCError.invalidRequest("Input/deleteAfter must be a valid datetime")
        }
        try await AccountAdmin.deactivate(did: user.did, deleteAfter: deleteAfter, services: call.services)
        return .empty
    }

    // MARK: - Deletion

    static func requestAccountDelete(_ call: XRPCCall) async throws -> XRPCResult {
        let user = try await call.authenticate(allowAppPassword: false, allowInactive: true)
        try await AccountMail.sendToken(.deleteAccount, account: user.account, services: call.services)
        return .empty
    }

    static func deleteAccount(_ call: XRPCCall) async throws -> XRPCResult {
        let services = call.services
        try await limit(call, spendLimit)
        let input = try await call.jsonBody()
        let rawDID = try input.requiredString("did")
        let password = try input.requiredString("password")
        let token = try input.requiredString("token")
        guard let did = try? DID(rawDID), let account = try await AccountAdmin.find(rawDID, services: services), account.did == did else {
            throw XRPCError.invalidRequest("account not found")
        }
        let hash = try await services.accounts.passwordHash(did: did) ?? ""
        guard PasswordHasher.verify(password, hash: hash) else {
            throw XRPCError(.unauthorized, "AuthRequired", "Invalid did or password")
        }
        let now = Int(Date().timeIntervalSince1970)
        try await AccountAdmin.delete(did: did, services: services) { tx in
            _ = try EmailTokens.spend(.deleteAccount, token: token, did: did, in: tx, now: now)
        }
        return .empty
    }

    // MARK: - Password reset

    static func requestPasswordReset(_ call: XRPCCall) async throws -> XRPCResult {
        let services = call.services
        try await limit(call, requestLimit)
        let email = try await call.jsonBody().requiredString("email").lowercased()
        // The answer is the same whether or not the address is known.
        if email.contains("@"), let account = try await AccountAdmin.find(email, services: services), account.email != nil {
            try await AccountMail.sendToken(.resetPassword, account: account, services: services)
        } else {
            services.logger.info("password reset requested for an unknown email")
        }
        return .empty
    }

    static func resetPassword(_ call: XRPCCall) async throws -> XRPCResult {
        let services = call.services
        try await limit(call, spendLimit)
        let input = try await call.jsonBody()
        let token = try input.requiredString("token")
        let password = try input.requiredString("password")
        let now = Int(Date().timeIntervalSince1970)
        // Check the token before the costly hash, and again when spending it.
        let did = try await services.storage.read { tx in try EmailTokens.check(.resetPassword, token: token, in: tx, now: now) }
        try AccountAdmin.checkPassword(password)
        let hash = try PasswordHasher.hash(password, strength: services.passwordStrength)
        try await services.storage.write { tx in
            _ = try EmailTokens.spend(.resetPassword, token: token, did: did, in: tx, now: now)
            _ = try AccountAdmin.existing(did: did, in: tx)
            try AccountAdmin.storePasswordHash(hash, did: did, in: tx)
        }
        services.logger.info("password reset; sessions ended", metadata: ["did": .string(did.string)])
        return .empty
    }
}
