import ATProto
import Foundation
import ServiceStorage

/// The account's email: confirming it, changing it, and sign-in codes by
/// mail (`emailAuthFactor`), as the Bluesky app's account screens call
/// them. Every token is mailed (``AccountMail``), lasts 15 minutes and
/// works once.
enum EmailMethods {
    static func register(_ methods: inout XRPCMethods) {
        methods.procedure("com.atproto.server.requestEmailConfirmation", requestEmailConfirmation)
        methods.procedure("com.atproto.server.confirmEmail", confirmEmail)
        methods.procedure("com.atproto.server.requestEmailUpdate", requestEmailUpdate)
        methods.procedure("com.atproto.server.updateEmail", updateEmail)
    }

    /// Mail asked for per account (the reference PDS's: 5 an hour and 15 a
    /// day): a stolen session cannot flood the owner's mailbox.
    static let hourlyMail = RateLimiter.Limit(name: "account-mail-hour", max: 5, window: 3600)
    static let dailyMail = RateLimiter.Limit(name: "account-mail-day", max: 15, window: 86_400)

    /// Sign-in codes have limits of their own: only the password's holder
    /// can ask for one, and an app password or an OAuth app spending the
    /// limits above must not keep the owner from signing in.
    static let hourlySignInCodes = RateLimiter.Limit(name: "sign-in-code-hour", max: 10, window: 3600)
    static let dailySignInCodes = RateLimiter.Limit(name: "sign-in-code-day", max: 30, window: 86_400)

    static func limitMail(_ did: DID, services: PDSServices, limits: [RateLimiter.Limit] = [hourlyMail, dailyMail]) throws {
        for limit in limits {
            if let wait = services.rateLimiter.hit(limit, key: did.string) { throw XRPCError.rateLimited(retryAfter: wait) }
        }
    }

    static func requestEmailConfirmation(_ call: XRPCCall) async throws -> XRPCResult {
        let user = try await call.authenticate(allowInactive: true, permission: .account(.email, .manage))
        try limitMail(user.did, services: call.services)
        try await AccountMail.sendToken(.confirmEmail, account: user.account, services: call.services)
        return .empty
    }

    static func confirmEmail(_ call: XRPCCall) async throws -> XRPCResult {
        let user = try await call.authenticate(allowInactive: true, permission: .account(.email, .manage))
        let input = try await call.jsonBody()
        let email = try input.requiredString("email").trimmingCharacters(in: .whitespaces).lowercased()
        let token = try input.requiredString("token")
        let now = Int(Date().timeIntervalSince1970)
        try await call.services.storage.write { tx in
            guard let account = try AccountStore.account(did: user.did, in: tx) else {
                throw XRPCError(.badRequest, "AccountNotFound", "user not found")
            }
            guard account.email == email else { throw XRPCError(.badRequest, "InvalidEmail", "invalid email") }
            _ = try EmailTokens.spend(.confirmEmail, token: token, did: user.did, in: tx, now: now)
            try AccountStore.confirmEmail(did: user.did, in: tx)
        }
        return .empty
    }

    /// The reference PDS keeps email changes to the account's own password
    /// sessions: an app, even one signed in through OAuth, cannot move the
    /// account's recovery address.
    static func authenticateForEmailChange(_ call: XRPCCall) async throws -> AuthenticatedUser {
        let user = try await call.authenticate(allowInactive: true)
        if user.oauthScope != nil {
            throw XRPCError.forbidden("Use the account manager interface to update email address associated with an account")
        }
        if user.isAppPassword { throw XRPCError(.forbidden, "InvalidToken", "This method cannot be called with an app password") }
        return user
    }

    /// A token is needed (and mailed to the current address) once the
    /// address is confirmed; before that, anyone signed in may fix a typo.
    static func requestEmailUpdate(_ call: XRPCCall) async throws -> XRPCResult {
        let user = try await authenticateForEmailChange(call)
        guard user.account.email != nil else { throw XRPCError.invalidRequest("account does not have an email address") }
        let tokenRequired = user.account.emailConfirmed
        if tokenRequired {
            try limitMail(user.did, services: call.services)
            try await AccountMail.sendToken(.updateEmail, account: user.account, services: call.services)
        }
        return .json(["tokenRequired": .bool(tokenRequired)])
    }

    /// Sets the address (a new one is unconfirmed, every pending token
    /// goes, and sign-in codes go off) and, when given, `emailAuthFactor`,
    /// which only a confirmed address may turn on: codes must reach the
    /// owner.
    static func updateEmail(_ call: XRPCCall) async throws -> XRPCResult {
        let user = try await authenticateForEmailChange(call)
        let input = try await call.jsonBody()
        let email = try AccountAdmin.checkedEmail(try input.requiredString("email"))
        let authFactor = try input.optionalBool("emailAuthFactor")
        let token = try input.optionalString("token").flatMap { $0.isEmpty ? nil : $0 }
        let now = Int(Date().timeIntervalSince1970)
        try await call.services.storage.write { tx in
            guard let account = try AccountStore.account(did: user.did, in: tx) else {
                throw XRPCError(.badRequest, "AccountNotFound", "account not found")
            }
            if let token {
                _ = try EmailTokens.spend(.updateEmail, token: token, did: user.did, in: tx, now: now)
            } else if account.emailConfirmed {
                throw XRPCError(.badRequest, "TokenRequired", "confirmation token required")
            }
            let changes = account.email != email
            if changes {
                if try AccountStore.emailTaken(email, exceptDID: user.did, in: tx) {
                    throw XRPCError.invalidRequest("This email address is already in use, please use a different email.")
                }
                try AccountStore.setEmail(email, did: user.did, in: tx)
                try EmailTokens.deleteAll(did: user.did, in: tx)
                // Codes must not go to an address nobody has confirmed: a
                // typo would lock the owner out (resets go there too).
                if account.emailAuthFactor && authFactor != true {
                    try AccountStore.setEmailAuthFactor(false, did: user.did, in: tx)
                }
            }
            if let authFactor, authFactor != account.emailAuthFactor {
                if authFactor && (changes || !account.emailConfirmed) {
                    throw XRPCError.invalidRequest("Confirm the email address before turning on sign-in codes by email.")
                }
                try AccountStore.setEmailAuthFactor(authFactor, did: user.did, in: tx)
            }
        }
        return .empty
    }

    /// The second factor of a password sign-in when the account has
    /// `emailAuthFactor` on: without `code`, one is mailed and the answer
    /// is `AuthFactorTokenRequired`; with one, it is spent. App passwords
    /// skip it (they are the owner's, made after signing in, as on
    /// bsky.social).
    static func checkSignInCode(_ code: String?, account: Account, services: PDSServices) async throws {
        guard let code = code?.trimmingCharacters(in: .whitespaces), !code.isEmpty else {
            try limitMail(account.did, services: services, limits: [hourlySignInCodes, dailySignInCodes])
            try await AccountMail.sendToken(.signIn, account: account, services: services)
            throw XRPCError(.unauthorized, "AuthFactorTokenRequired", "A sign-in code has been sent to your email address")
        }
        let now = Int(Date().timeIntervalSince1970)
        try await services.storage.write { tx in
            _ = try EmailTokens.spend(.signIn, token: code, did: account.did, in: tx, now: now)
        }
    }
}
