import ATCrypto
import ATProto
import Foundation
import HTTPTypes
import OAuth

/// Who made an authenticated call.
public struct AuthenticatedUser: Sendable {
    public let did: DID
    public let scope: AuthScope
    public let sessionID: String
    public let account: Account
    /// For an OAuth access token, what its grant allows; nil for a session
    /// token of `createSession`, which its ``scope`` says all about.
    public let oauthScope: OAuthScope?

    public init(did: DID, scope: AuthScope, sessionID: String, account: Account, oauthScope: OAuthScope? = nil) {
        self.did = did
        self.scope = scope
        self.sessionID = sessionID
        self.account = account
        self.oauthScope = oauthScope
    }

    /// Whether the session came from an app password (or is an OAuth grant,
    /// which has at most an app password's rights).
    public var isAppPassword: Bool { scope == .appPass || scope == .appPassPrivileged }
}

extension XRPCCall {
    /// The bearer token of the `Authorization` header.
    public var bearerToken: String? {
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer ") else { return nil }
        // Spaces and tabs around the token are dropped (a token never holds
        // whitespace); done on the UTF-8 view, as Foundation's trimming
        // was a visible share of every authenticated request.
        let utf8 = header.utf8.dropFirst(7)
        let isBlank = { (byte: UInt8) in byte == 0x20 || byte == 0x09 }
        guard let first = utf8.firstIndex(where: { !isBlank($0) }), let last = utf8.lastIndex(where: { !isBlank($0) }) else {
            return ""
        }
        return String(Substring(utf8[first...last]))
    }

    /// Checks the access token and its session and account.
    /// - Parameters:
    ///   - allowAppPassword: false for methods an app-password session may not call.
    ///   - allowInactive: true for methods a deactivated account may still call.
    ///   - checksPermissions: true for methods whose handler checks an OAuth
    ///     token's granular permissions itself (``AuthenticatedUser/require(repo:action:)``
    ///     and its kin); other methods need `transition:generic`.
    ///   - permission: the `account:` or `identity:` permission that lets an
    ///     OAuth token call the method (even one an app password may not).
    public func authenticate(
        allowAppPassword: Bool = true, allowInactive: Bool = false, checksPermissions: Bool = false,
        permission: OAuthPermissionNeeded? = nil
    ) async throws -> AuthenticatedUser {
        if let header = request.headers[.authorization], header.hasPrefix("DPoP ") {
            let oauth = services.oauth
            extraHeaders[OAuthResponses.dpopNonce] = oauth.dpop.nonces.current()
            return try await services.authenticateOAuth(
                accessToken: String(header.dropFirst(5).drop { $0 == " " }),
                proof: request.headers[OAuthResponses.dpop], method: request.method.rawValue, path: request.uri.path,
                allowAppPassword: allowAppPassword, allowInactive: allowInactive, checksPermissions: checksPermissions,
                permission: permission)
        }
        guard let token = bearerToken else { throw XRPCError.authRequired() }
        return try await services.authenticate(accessToken: token, allowAppPassword: allowAppPassword, allowInactive: allowInactive)
    }

    /// Requires HTTP basic auth as `admin` with the configured password.
    /// Failures are logged and throttled per client address
    /// (``AdminAuthGuard``).
    public func requireAdmin() throws(XRPCError) {
        try services.requireAdmin(authorization: request.headers[.authorization], address: clientAddress, what: method)
    }
}

extension PDSServices {
    /// The check of ``XRPCCall/requireAdmin()``, for routes outside
    /// `/xrpc/` too (`/metrics`): `what` names the route in the log.
    public func requireAdmin(authorization header: String?, address: String, what: String) throws(XRPCError) {
        guard let password = config.adminPassword else {
            throw XRPCError.forbidden("admin endpoints are disabled: no admin password is configured")
        }
        guard let header, header.hasPrefix("Basic ") else {
            throw XRPCError.authRequired("admin authentication required")
        }
        let given = Data(base64Encoded: String(header.dropFirst(6))).map { [UInt8]($0) } ?? []
        switch adminAuth.check(given: given, password: password, address: address) {
        case .accepted:
            return
        case .rejected(let lockedNow):
            logger.warning(
                lockedNow ? "admin authentication failed; address locked out" : "admin authentication failed",
                metadata: ["address": .string(address), "method": .string(what)])
            throw XRPCError.authRequired("admin authentication failed")
        case .lockedOut(let wait):
            throw XRPCError.rateLimited(retryAfter: wait)
        }
    }
}

extension PDSServices {
    /// Checks an access token of this PDS (`at+jwt`) and its session and
    /// account, as ``XRPCCall/authenticate(allowAppPassword:allowInactive:)``
    /// does for XRPC methods; for routes outside `/xrpc/`.
    public func authenticate(accessToken token: String, allowAppPassword: Bool = true, allowInactive: Bool = false) async throws
        -> AuthenticatedUser
    {
        let services = self
        let verified: (did: DID, scope: AuthScope, jti: String)
        do {
            verified = try services.tokens.verify(token, type: "at+jwt")
        } catch {
            // An OAuth access token sent as a bearer token: it is bound to
            // a DPoP key, and only a proof with that key may use it.
            if error.name == "InvalidToken", (try? JWT.decodeUnverified(token))?.header.alg == "ES256" {
                throw XRPCError.invalidToken("this OAuth access token is DPoP-bound: send it as Authorization: DPoP with a DPoP proof")
            }
            throw error
        }
        let (did, scope, sessionID) = verified
        let session = try await services.sessionChecks.answer(sessionID: sessionID, did: did) {
            let (open, account) = try await services.sessions.session(sessionID, did: did, now: Int(Date().timeIntervalSince1970))
            return SessionCheckCache.Answer(open: open, account: account)
        }
        guard session.open else { throw XRPCError.invalidToken("the session has ended") }
        guard let account = session.account else { throw XRPCError.invalidToken("the account no longer exists") }
        try Self.checkStatus(account, allowInactive: allowInactive)
        if !allowAppPassword && (scope == .appPass || scope == .appPassPrivileged) {
            throw XRPCError(.forbidden, "InvalidToken", "This method cannot be called with an app password")
        }
        return AuthenticatedUser(did: did, scope: scope, sessionID: sessionID, account: account)
    }

    /// Refuses taken-down, deleted and (unless allowed) deactivated accounts.
    static func checkStatus(_ account: Account, allowInactive: Bool) throws(XRPCError) {
        switch account.status {
        case .active: break
        case .takendown: throw XRPCError(.unauthorized, "AccountTakedown", "Account has been taken down")
        case .deleted: throw XRPCError.invalidToken("the account has been deleted")
        case .deactivated:
            if !allowInactive { throw XRPCError(.unauthorized, "AccountDeactivated", "Account is deactivated") }
        }
    }
}
