import ATCrypto
import ATProto
import Foundation
import Repo
import ServiceStorage

/// `com.atproto.server.*`: the server's description, account creation and
/// sessions.
enum ServerMethods {
    static func register(_ methods: inout XRPCMethods) {
        methods.query("com.atproto.server.describeServer", describeServer)
        methods.procedure("com.atproto.server.createAccount", createAccount)
        methods.procedure("com.atproto.server.createSession", createSession)
        methods.query("com.atproto.server.getSession", getSession)
        methods.procedure("com.atproto.server.refreshSession", refreshSession)
        methods.procedure("com.atproto.server.deleteSession", deleteSession)
    }

    /// As the reference PDS answers it: `links` and `contact` from the
    /// configuration (empty objects when unset), and no
    /// `phoneVerificationRequired` (this server has no phone verification).
    static func describeServer(_ call: XRPCCall) async throws -> XRPCResult {
        let config = call.services.config
        var links: DataMap = [:]
        if let url = config.privacyPolicyURL { links["privacyPolicy"] = .string(url) }
        if let url = config.termsOfServiceURL { links["termsOfService"] = .string(url) }
        var contact: DataMap = [:]
        if let email = config.contactEmailAddress { contact["email"] = .string(email) }
        return .json([
            "did": .string(config.resolvedServiceDID),
            "availableUserDomains": .array(config.availableUserDomains.map { .string($0) }),
            "inviteCodeRequired": .bool(config.inviteRequired),
            "links": .map(links),
            "contact": .map(contact),
        ])
    }

    static func createAccount(_ call: XRPCCall) async throws -> XRPCResult {
        let services = call.services
        let input = try await call.jsonBody()
        let handle = try input.requiredString("handle")
        let password = try input.requiredString("password")
        let email = try input.optionalString("email")
        let inviteCode = try input.optionalString("inviteCode")
        let account: Account
        if let did = try input.optionalString("did") {
            account = try await AccountAdmin.createMigratingAccount(
                did: did, handle: handle, email: email, password: password, inviteCode: inviteCode,
                serviceToken: call.bearerToken, services: services)
        } else {
            account = try await AccountAdmin.createAccount(
                handle: handle, email: email, password: password, inviteCode: inviteCode,
                inviteRequired: services.config.inviteRequired, recoveryKey: try input.optionalString("recoveryKey"),
                services: services)
        }
        let session = try await startSession(account, scope: .access, appPasswordName: nil, services: services)
        return .json([
            "accessJwt": .string(session.access), "refreshJwt": .string(session.refresh),
            "handle": .string(account.handle.string), "did": .string(account.did.string), "didDoc": DIDDocument.of(account, services: services),
        ])
    }

    static func startSession(_ account: Account, scope: AuthScope, appPasswordName: String?, services: PDSServices)
        async throws -> (access: String, refresh: String)
    {
        let sessionID = UUID().uuidString
        let refreshID = UUID().uuidString
        let access = try services.tokens.accessToken(did: account.did, scope: scope, sessionID: sessionID)
        let refresh = try services.tokens.refreshToken(did: account.did, tokenID: refreshID)
        try await services.sessions.startSession(
            did: account.did, sessionID: sessionID, refreshID: refreshID, expiresAt: refresh.expiresAt,
            appPasswordName: appPasswordName)
        return (access, refresh.token)
    }

    static func createSession(_ call: XRPCCall) async throws -> XRPCResult {
        let services = call.services
        let input = try await call.jsonBody()
        let identifier = try input.requiredString("identifier")
        let password = try input.requiredString("password")
        let verified = try await verifyPassword(identifier: identifier, password: password, address: call.clientAddress, services: services)
        let allowTakendown = try input.optionalBool("allowTakendown") ?? false
        if verified.account.status == .takendown && !allowTakendown {
            throw XRPCError(.unauthorized, "AccountTakedown", "Account has been taken down")
        }
        guard verified.account.status != .deleted else {
            throw XRPCError(.unauthorized, "AuthenticationRequired", "Invalid identifier or password")
        }
        if verified.account.emailAuthFactor && verified.appPasswordName == nil {
            try await EmailMethods.checkSignInCode(try input.optionalString("authFactorToken"), account: verified.account, services: services)
        }
        let session = try await startSession(
            verified.account, scope: verified.scope, appPasswordName: verified.appPasswordName, services: services)
        var body = await sessionDescription(verified.account, services: services)
        body["accessJwt"] = .string(session.access)
        body["refreshJwt"] = .string(session.refresh)
        return .json(.map(body))
    }

    /// Checks a sign-in (`createSession`, the OAuth sign-in page) with the
    /// per-address rate limit and the login throttle.
    static func verifyPassword(identifier: String, password: String, address: String, services: PDSServices) async throws
        -> VerifiedPassword
    {
        let now = Int(Date().timeIntervalSince1970)
        if let wait = services.rateLimiter.hit(
            .init(name: "login", max: services.config.rateLimits.loginsPerFiveMinutes, window: 300), key: address)
        {
            throw XRPCError.rateLimited(retryAfter: wait)
        }
        let account = try await services.accounts.account(identifier: identifier)
        let subject = account?.did.string ?? LoginAttemptStore.unknownSubject(identifier)
        // One attempt per subject at a time, from check to record: attempts
        // sent together would otherwise all pass the same counts (30 at
        // once against a pair limit of 5). Refused attempts do no Argon2id,
        // so a queue of them drains at once.
        return try await services.loginLock.withLock(subject) {
            try await checkPassword(
                services, account: account, subject: subject, password: password, address: address, now: now)
        }
    }

    /// A password that signed in: to the account, or one of its app passwords.
    struct VerifiedPassword: Sendable {
        let account: Account
        let scope: AuthScope
        let appPasswordName: String?
    }

    /// The throttled part of `createSession`, with `subject`'s sign-in lock
    /// held: the limits, the password check and its record.
    private static func checkPassword(
        _ services: PDSServices, account: Account?, subject: String, password: String, address: String, now: Int
    ) async throws -> VerifiedPassword {
        let counts = try await services.loginThrottle.counts(subject: subject, address: address, store: services.loginAttempts, now: now)
        if let wait = services.loginThrottle.wait(counts, now: now) {
            services.logger.notice(
                "sign-in refused: too many failures", metadata: ["address": .string(address), "subject": .string(subject)])
            throw XRPCError.rateLimited(retryAfter: wait)
        }
        func refuse() async throws -> Never {
            try await services.loginAttempts.recordFailure(subject: subject, address: address, at: now)
            throw XRPCError(.unauthorized, "AuthenticationRequired", "Invalid identifier or password")
        }
        guard let account, let hash = try await services.accounts.passwordHash(did: account.did) else {
            // The same Argon2id work as a wrong password, so the time taken
            // does not tell that no such account exists.
            PasswordHasher.verifyAgainstNothing(password, strength: services.passwordStrength, counting: services.passwordVerifications)
            try await refuse()
        }
        var scope = AuthScope.access
        var appPasswordName: String? = nil
        if !PasswordHasher.verify(password, hash: hash, counting: services.passwordVerifications) {
            guard let appPassword = try await AppPasswords.match(password, did: account.did, pool: services.pool) else {
                try await refuse()
            }
            scope = appPassword.privileged ? .appPassPrivileged : .appPass
            appPasswordName = appPassword.name
        }
        try await services.loginAttempts.recordSuccess(did: account.did, address: address, at: now)
        return VerifiedPassword(account: account, scope: scope, appPasswordName: appPasswordName)
    }

    /// What `createSession`, `getSession` and `refreshSession` say of the
    /// account. Its handle is checked both ways: one under this server's
    /// domains is ours; any other is shown only while it still resolves to
    /// the account (DNS or HTTPS), else as `handle.invalid`, as the network
    /// shows it.
    static func sessionDescription(_ account: Account, services: PDSServices) async -> DataMap {
        var body: DataMap = [
            "handle": .string(await verifiedHandle(account, services: services)), "did": .string(account.did.string),
            "didDoc": DIDDocument.of(account, services: services),
            "emailConfirmed": .bool(account.emailConfirmed), "emailAuthFactor": .bool(account.emailAuthFactor),
            "active": .bool(account.status == .active),
        ]
        if let email = account.email { body["email"] = .string(email) }
        if account.status != .active { body["status"] = .string(account.status.rawValue) }
        return body
    }

    /// The account's handle when it resolves back to the account, else `handle.invalid`.
    static func verifiedHandle(_ account: Account, services: PDSServices) async -> String {
        if IdentityMethods.isServed(account.handle.string, config: services.config) { return account.handle.string }
        let resolved = try? await IdentityResolutionMethods.resolveHandle(account.handle.string, services: services)
        return resolved == account.did ? account.handle.string : Handle.invalidHandleMarker
    }

    /// Any token may ask who it is; an OAuth token sees the email only with
    /// `transition:email` or `account:email`.
    static func getSession(_ call: XRPCCall) async throws -> XRPCResult {
        let user = try await call.authenticate(allowInactive: true, checksPermissions: true)
        var body = await sessionDescription(user.account, services: call.services)
        if !user.mayReadEmail {
            body["email"] = nil
            body["emailConfirmed"] = nil
            body["emailAuthFactor"] = nil
        }
        return .json(.map(body))
    }

    static func refreshSession(_ call: XRPCCall) async throws -> XRPCResult {
        let services = call.services
        guard let token = call.bearerToken else { throw XRPCError.authRequired() }
        let (did, _, tokenID) = try services.tokens.verify(token, type: "refresh+jwt")
        let nextID = UUID().uuidString
        let next = try services.tokens.refreshToken(did: did, tokenID: nextID)
        let outcome = try await services.sessions.rotateRefreshToken(
            tokenID, did: did, nextID: nextID, nextExpiresAt: next.expiresAt, now: Int(Date().timeIntervalSince1970))
        switch outcome {
        case .unknown:
            throw XRPCError.expiredToken("Token has been revoked")
        case .reused:
            services.logger.warning("refresh token reused; session revoked", metadata: ["did": .string(did.string)])
            throw XRPCError.expiredToken("Token has been revoked")
        case .rotated(let sessionID, let appPasswordName):
            guard let account = try await services.accounts.account(did: did), account.status != .deleted else {
                throw XRPCError.invalidToken("the account no longer exists")
            }
            // The owner's app refreshing from a new network makes that
            // address known too, so a guessing attack elsewhere does not
            // slow the owner's next sign-in from it.
            try await services.loginAttempts.recordSuccess(did: did, address: call.clientAddress, at: Int(Date().timeIntervalSince1970))
            if account.status == .takendown { throw XRPCError(.unauthorized, "AccountTakedown", "Account has been taken down") }
            var scope = AuthScope.access
            if let appPasswordName {
                scope = try await AppPasswords.isPrivileged(name: appPasswordName, did: did, pool: services.pool)
                    ? .appPassPrivileged : .appPass
            }
            let access = try services.tokens.accessToken(did: did, scope: scope, sessionID: sessionID)
            var body = await sessionDescription(account, services: services)
            body["accessJwt"] = .string(access)
            body["refreshJwt"] = .string(next.token)
            return .json(.map(body))
        }
    }

    static func deleteSession(_ call: XRPCCall) async throws -> XRPCResult {
        let services = call.services
        guard let token = call.bearerToken else { throw XRPCError.authRequired() }
        let (_, _, tokenID) = try services.tokens.verify(token, type: "refresh+jwt")
        if let session = try await services.sessions.session(ofRefreshToken: tokenID) {
            try await services.sessions.endSession(session)
        }
        return .empty
    }
}
