import ATProto
import Foundation
import Hummingbird
import OAuth

/// `POST /oauth/par` (RFC 9126): the client pushes its authorization
/// request, proven by DPoP, and gets the `request_uri` the browser then
/// opens. Everything is checked here, so the authorize page only shows
/// requests that are already valid.
enum OAuthPAR {
    static func handle(_ request: Request, services: PDSServices) async -> Response {
        let oauth = services.oauth
        let nonce = oauth.dpop.nonces.current()
        do {
            let form = try await OAuthForm.read(request)
            let proof = try oauth.dpop.verify(request.headers[OAuthResponses.dpop], method: "POST", url: oauth.url("/oauth/par"))
            let clientID = try form.required("client_id")
            let client = try await oauth.clients.client(clientID)
            let clientAuth = try await OAuthClientAuthentication.authenticate(form, client: client, endpoint: "/oauth/par", oauth: oauth)
            let parameters = try parameters(form, client: client, proof: proof)
            let id = "req-" + OAuthServices.randomToken()
            let expiresAt = Int(Date().timeIntervalSince1970) + OAuthServices.requestLifetime
            try await oauth.requests.create(id: id, parameters: parameters, dpopJKT: proof.jkt, clientAuth: clientAuth, expiresAt: expiresAt)
            return OAuthResponses.json(
                ["request_uri": .string(OAuthServices.requestURIPrefix + id), "expires_in": .int(Int64(OAuthServices.requestLifetime))],
                status: .created, nonce: nonce)
        } catch let error as OAuthError {
            return OAuthResponses.error(error, nonce: nonce)
        } catch {
            services.logger.error("oauth par failed: \(error)")
            return OAuthResponses.error(OAuthError("server_error", "the request could not be stored", status: 500), nonce: nonce)
        }
    }

    /// The request's parameters, each checked against the profile and the
    /// client's metadata.
    static func parameters(_ form: OAuthForm, client: OAuthClient, proof: DPoPProof) throws(OAuthError) -> AuthorizationParameters {
        guard form["request"] == nil else { throw .invalidRequest("request objects (JAR) are not supported: send the parameters") }
        guard form["response_type"] == "code" else { throw OAuthError("unsupported_response_type", "response_type must be code") }
        if let jkt = form["dpop_jkt"], jkt != proof.jkt {
            throw .invalidRequest("dpop_jkt is not the thumbprint of the DPoP proof's key")
        }
        let redirectURI: String
        if let given = form["redirect_uri"] {
            guard client.allowsRedirect(given) else { throw .invalidRequest("redirect_uri \(given) is not one the client declared") }
            redirectURI = given
        } else if client.redirectURIs.count == 1, !client.isLoopback {
            redirectURI = client.redirectURIs[0]
        } else {
            throw .invalidRequest("redirect_uri is required")
        }
        let scopeText = try form.required("scope")
        let scope = try OAuthScope(scopeText)
        guard scope.hasAtproto else { throw .invalidScope("the scope must include atproto") }
        guard scope.isWithin(client.scope) else {
            let extra = scope.tokens.filter { !client.scope.tokens.contains($0) }
            throw .invalidScope("the client did not declare \(extra.joined(separator: " ")) in its metadata's scope")
        }
        let state = try form.required("state")
        guard state.utf8.count <= 1024 else { throw .invalidRequest("state is longer than 1024 bytes") }
        try PKCE.validateChallenge(form["code_challenge"], method: form["code_challenge_method"])
        let responseMode = form["response_mode"] ?? "query"
        guard AuthorizationParameters.responseModes.contains(responseMode) else {
            throw .invalidRequest("response_mode must be query, fragment or form_post")
        }
        let prompt = form["prompt"]
        if let prompt, !AuthorizationParameters.prompts.contains(prompt) { throw .invalidRequest("prompt \(prompt) is not supported") }
        let loginHint = form["login_hint"]
        if let loginHint, loginHint.utf8.count > 256 || !(DID.isValid(loginHint) || Handle.isValid(loginHint)) {
            throw .invalidRequest("login_hint must be a handle or a DID")
        }
        return AuthorizationParameters(
            clientID: client.clientID, redirectURI: redirectURI, scope: scope.description, state: state,
            codeChallenge: form["code_challenge"] ?? "", responseMode: responseMode, loginHint: loginHint, prompt: prompt)
    }
}
