import ATProto
import Foundation
import Hummingbird
import OAuth

/// `POST /oauth/token`: a code (with its PKCE verifier) or a refresh
/// token for a DPoP-bound access token and a new refresh token. Codes are
/// used once; refresh tokens rotate at every use, and a spent one
/// presented again revokes its whole grant.
enum OAuthTokenEndpoint {
    static func handle(_ request: Request, services: PDSServices) async -> Response {
        let oauth = services.oauth
        let nonce = oauth.dpop.nonces.current()
        do {
            let form = try await OAuthForm.read(request)
            let proof = try oauth.dpop.verify(request.headers[OAuthResponses.dpop], method: "POST", url: oauth.url("/oauth/token"))
            let client = try await oauth.clients.client(try form.required("client_id"))
            let clientAuth = try await OAuthClientAuthentication.authenticate(form, client: client, endpoint: "/oauth/token", oauth: oauth)
            let answer: DataValue
            switch try form.required("grant_type") {
            case "authorization_code":
                answer = try await exchangeCode(form, client: client, clientAuth: clientAuth, proof: proof, services: services)
            case "refresh_token":
                guard client.mayRefresh else { throw OAuthError.unauthorizedClient("the client did not declare the refresh_token grant") }
                answer = try await refresh(form, client: client, clientAuth: clientAuth, proof: proof, services: services)
            case let other:
                throw OAuthError.unsupportedGrantType("grant_type \(other) is not supported")
            }
            return OAuthResponses.json(answer, nonce: nonce)
        } catch let error as OAuthError {
            return OAuthResponses.error(error, nonce: nonce)
        } catch {
            services.logger.error("oauth token request failed: \(error)")
            return OAuthResponses.error(OAuthError("server_error", "the token could not be issued", status: 500), nonce: nonce)
        }
    }

    static func exchangeCode(_ form: OAuthForm, client: OAuthClient, clientAuth: String, proof: DPoPProof, services: PDSServices)
        async throws -> DataValue
    {
        let oauth = services.oauth
        let code = try form.required("code")
        guard let stored = try await oauth.requests.request(codeHash: OAuthServices.hash(code)), let did = stored.did else {
            throw OAuthError.invalidGrant("the code is unknown or has expired")
        }
        let parameters = stored.parameters
        guard parameters.clientID == client.clientID else { throw OAuthError.invalidGrant("the code was issued to another client") }
        guard form["redirect_uri"] == parameters.redirectURI else {
            throw OAuthError.invalidGrant("redirect_uri must be the one of the authorization request")
        }
        try PKCE.verify(verifier: form["code_verifier"], challenge: parameters.codeChallenge)
        guard proof.jkt == stored.dpopJKT else {
            throw OAuthError.invalidGrant("the DPoP key is not the one the authorization request was made with")
        }
        guard OAuthClientAuthentication.sameMethod(stored.clientAuth, clientAuth) else {
            throw OAuthError.invalidGrant("the client authenticated differently than at its authorization request")
        }
        guard let account = try await services.accounts.account(did: did), account.status == .active else {
            throw OAuthError.invalidGrant("the account is not active")
        }
        let now = Int(Date().timeIntervalSince1970)
        let days = client.authMethod == .none ? oauth.config.publicSessionDays : oauth.config.confidentialSessionDays
        let grant = OAuthGrantStore.Grant(
            id: UUID().uuidString, did: did, clientID: client.clientID, clientName: client.metadata.client_name, scope: parameters.scope,
            dpopJKT: proof.jkt, clientAuth: clientAuth, createdAt: now, lastUsedAt: now, expiresAt: now + days * 86_400)
        let refreshToken = "ref-" + OAuthServices.randomToken()
        let outcome = try await oauth.grants.exchange(
            requestID: stored.id, grant: grant, refreshHash: OAuthServices.hash(refreshToken),
            refreshExpiresAt: refreshExpiry(client: client, grant: grant, now: now, oauth: oauth), now: now)
        switch outcome {
        case .unknown:
            throw OAuthError.invalidGrant("the code is unknown or has expired")
        case .codeReused:
            services.logger.warning("oauth code used twice; its grant revoked", metadata: ["client": .string(client.clientID)])
            throw OAuthError.invalidGrant("the code was already used; the tokens issued for it are revoked")
        case .granted:
            services.logger.info("oauth grant", metadata: ["did": .string(did.string), "client": .string(client.clientID)])
            return try await tokenAnswer(grant, refreshToken: client.mayRefresh ? refreshToken : nil, services: services)
        }
    }

    static func refresh(_ form: OAuthForm, client: OAuthClient, clientAuth: String, proof: DPoPProof, services: PDSServices)
        async throws -> DataValue
    {
        let oauth = services.oauth
        let presented = try form.required("refresh_token")
        let next = "ref-" + OAuthServices.randomToken()
        let now = Int(Date().timeIntervalSince1970)
        let clientID = client.clientID
        let jkt = proof.jkt
        let nextExpiry =
            client.authMethod == .none ? Int.max : now + oauth.config.confidentialRefreshDays * 86_400
        let outcome = try await oauth.grants.rotate(
            OAuthServices.hash(presented), nextHash: OAuthServices.hash(next), nextExpiresAt: nextExpiry, now: now
        ) { grant throws(OAuthError) in
            guard grant.clientID == clientID else { throw .invalidGrant("the refresh token was issued to another client") }
            guard grant.dpopJKT == jkt else { throw .invalidGrant("the DPoP key is not the one the grant is bound to") }
            guard OAuthClientAuthentication.sameMethod(grant.clientAuth, clientAuth) else {
                throw .invalidGrant("the client authenticated differently than when the grant was made")
            }
        }
        switch outcome {
        case .unknown:
            throw OAuthError.invalidGrant("the refresh token is unknown, revoked or expired")
        case .reused:
            services.logger.warning("oauth refresh token reused; grant revoked", metadata: ["client": .string(clientID)])
            throw OAuthError.invalidGrant("the refresh token was already used; the grant is revoked")
        case .rotated(let grant):
            guard let account = try await services.accounts.account(did: grant.did), account.status == .active else {
                throw OAuthError.invalidGrant("the account is not active")
            }
            return try await tokenAnswer(grant, refreshToken: next, services: services)
        }
    }

    /// A public client's refresh tokens last as long as its grant; a
    /// confidential client's each last `confidentialRefreshDays`.
    static func refreshExpiry(client: OAuthClient, grant: OAuthGrantStore.Grant, now: Int, oauth: OAuthServices) -> Int {
        client.authMethod == .none ? grant.expiresAt : min(grant.expiresAt, now + oauth.config.confidentialRefreshDays * 86_400)
    }

    /// The answer: the access token carries the scope with its permission
    /// sets expanded; `scope` says what was granted.
    static func tokenAnswer(_ grant: OAuthGrantStore.Grant, refreshToken: String?, services: PDSServices) async throws -> DataValue {
        let scope = await services.oauth.effectiveScope(grant.scope)
        let access = try services.oauth.accessToken(for: grant, scope: scope, serviceDID: services.config.resolvedServiceDID)
        var answer: DataMap = [
            "access_token": .string(access.token), "token_type": "DPoP", "expires_in": .int(Int64(access.expiresIn)),
            "scope": .string(grant.scope), "sub": .string(grant.did.string),
        ]
        if let refreshToken { answer["refresh_token"] = .string(refreshToken) }
        return .map(answer)
    }
}
