import Foundation
import Hummingbird
import OAuth

/// `POST /oauth/revoke` (RFC 7009): a refresh or access token ends its
/// grant. The answer is 200 whether or not the token was known, so it
/// tells nothing about tokens.
enum OAuthRevocation {
    static func handle(_ request: Request, services: PDSServices) async -> Response {
        let oauth = services.oauth
        let nonce = oauth.dpop.nonces.current()
        do {
            let form = try await OAuthForm.read(request)
            let token = try form.required("token")
            if let grantID = try await oauth.grants.grantID(ofRefreshToken: OAuthServices.hash(token)) {
                try await oauth.grants.revoke(grantID)
            } else if let claims = try? oauth.verifyAccessToken(token, serviceDID: services.config.resolvedServiceDID) {
                try await oauth.grants.revoke(claims.grantID)
            }
            return OAuthResponses.json([:], nonce: nonce)
        } catch let error as OAuthError {
            return OAuthResponses.error(error, nonce: nonce)
        } catch {
            services.logger.error("oauth revocation failed: \(error)")
            return OAuthResponses.error(OAuthError("server_error", "the token could not be revoked", status: 500), nonce: nonce)
        }
    }
}
