import ATProto
import Foundation
import HTTPTypes
import OAuth

extension PDSServices {
    /// Checks an XRPC call made with `Authorization: DPoP <token>`: the
    /// token (signature, audience, expiry), the DPoP proof for this method,
    /// URL and token (`ath`) by the key the token is bound to, the grant
    /// still in force, the account, and the method against the scope.
    func authenticateOAuth(
        accessToken token: String, proof: String?, method: String, path: String, allowAppPassword: Bool, allowInactive: Bool,
        checksPermissions: Bool, permission: OAuthPermissionNeeded?
    ) async throws -> AuthenticatedUser {
        let claims = try oauth.verifyAccessToken(token, serviceDID: config.resolvedServiceDID)
        let checked: DPoPProof
        do {
            checked = try oauth.dpop.verify(proof, method: method, url: oauth.url(path), accessToken: token)
        } catch {
            throw resourceError(error)
        }
        guard checked.jkt == claims.jkt else {
            throw resourceError(.invalidDPoPProof("the DPoP proof is signed by another key than the one the token is bound to"))
        }
        let grants = oauth.grants
        let session = try await sessionChecks.answer(sessionID: claims.grantID, did: claims.did) {
            let (open, account) = try await grants.grantIsOpen(claims.grantID, did: claims.did, now: Int(Date().timeIntervalSince1970))
            return SessionCheckCache.Answer(open: open, account: account)
        }
        guard session.open else { throw XRPCError.invalidToken("the OAuth grant has been revoked or has expired") }
        guard let account = session.account else { throw XRPCError.invalidToken("the account no longer exists") }
        try Self.checkStatus(account, allowInactive: allowInactive)
        let scope = claims.scope
        let user = AuthenticatedUser(
            did: claims.did, scope: scope.transitionChat ? .appPassPrivileged : .appPass, sessionID: claims.grantID, account: account,
            oauthScope: scope)
        if let permission {
            // The granular permission, or `transition:generic` where an app
            // password may call the method.
            guard permission.isGranted(by: scope) || (allowAppPassword && scope.transitionGeneric) else {
                throw XRPCError.scopeMissing(permission.scopeName)
            }
            return user
        }
        if !allowAppPassword {
            throw XRPCError(.forbidden, "ScopeMissing", "This method cannot be called with an OAuth token (it needs the account's password)")
        }
        if !checksPermissions && !scope.transitionGeneric {
            throw XRPCError(.forbidden, "ScopeMissing", "Missing required scope \"transition:generic\"")
        }
        return user
    }

    /// A DPoP failure on a resource request (RFC 9449 §7.1): 401 with the
    /// error in `WWW-Authenticate` and the nonce to use next.
    func resourceError(_ error: OAuthError) -> XRPCError {
        var answer = XRPCError(.unauthorized, error.code, error.message)
        answer.headers[.wwwAuthenticate] = "DPoP error=\"\(error.code)\", error_description=\"\(error.message.replacingOccurrences(of: "\"", with: "'"))\""
        answer.headers[OAuthResponses.dpopNonce] = oauth.dpop.nonces.current()
        return answer
    }
}

/// The `account:` or `identity:` permission a method needs from an OAuth
/// token (`authenticate(…, permission:)`).
public enum OAuthPermissionNeeded: Sendable {
    case account(AccountAttribute, AccountAction)
    case identity(String)

    func isGranted(by scope: OAuthScope) -> Bool {
        switch self {
        case .account(let attribute, let action): scope.allowsAccount(attribute, action)
        case .identity(let attribute): scope.allowsIdentity(attribute)
        }
    }

    /// The scope that grants it, for the `ScopeMissing` message.
    var scopeName: String {
        switch self {
        case .account(let attribute, let action): "account:\(attribute.rawValue)" + (action == .manage ? "?action=manage" : "")
        case .identity(let attribute): "identity:\(attribute)"
        }
    }
}

extension AuthenticatedUser {
    /// Requires that the token may write `collection` records (always, for
    /// a session token).
    public func require(repo collection: NSID, action: RepoAction) throws(XRPCError) {
        guard let oauthScope, !oauthScope.allowsRepo(collection: collection.string, action: action) else { return }
        throw .scopeMissing("repo:\(collection.string)?action=\(action.rawValue)")
    }

    /// Requires that the token may upload a blob of `mime`.
    public func require(blob mime: String) throws(XRPCError) {
        guard let oauthScope, !oauthScope.allowsBlob(mime: mime) else { return }
        throw .scopeMissing("blob:\(mime)")
    }

    /// Requires that the token may call `lxm` at `aud` (`did#service`)
    /// through the proxy or a service-auth token.
    public func require(rpc lxm: String, aud: String) throws(XRPCError) {
        guard let oauthScope, !oauthScope.allowsRPC(lxm: lxm, aud: aud) else { return }
        throw .scopeMissing("rpc:\(lxm)?aud=\(aud)")
    }

    /// Whether the token may read the account's email (session tokens may).
    public var mayReadEmail: Bool { oauthScope?.allowsAccount(.email, .read) ?? true }
}

extension XRPCError {
    /// 403 naming the scope a token lacks.
    static func scopeMissing(_ scope: String) -> XRPCError {
        XRPCError(.forbidden, "ScopeMissing", "Missing required scope \"\(scope)\"")
    }
}
