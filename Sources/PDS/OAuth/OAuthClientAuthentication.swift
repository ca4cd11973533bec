import Foundation
import OAuth

/// How a client proved itself at PAR and at the token endpoint: public
/// clients send nothing; confidential clients an ES256 assertion signed
/// with a key of their metadata (`private_key_jwt`). The label stored with
/// a request and a grant (`none`, `private_key_jwt:<kid>`) makes a later
/// token request prove the same way.
enum OAuthClientAuthentication {
    /// The assertion's `aud` may be the issuer, this endpoint or the
    /// token endpoint (client libraries address all their assertions to it).
    static func authenticate(_ form: OAuthForm, client: OAuthClient, endpoint: String, oauth: OAuthServices) async throws(OAuthError)
        -> String
    {
        switch client.authMethod {
        case .none:
            guard form["client_assertion"] == nil else {
                throw .invalidClient("this client is public (token_endpoint_auth_method none) and may not send a client_assertion")
            }
            return "none"
        case .privateKeyJWT:
            guard form["client_assertion_type"] == ClientAssertion.type else {
                throw .invalidClient("client_assertion_type must be \(ClientAssertion.type)")
            }
            let assertion = try form.required("client_assertion")
            let keys = try await oauth.clients.keys(of: client)
            let kid = try ClientAssertion.verify(
                assertion, clientID: client.clientID, keys: keys, audiences: [oauth.issuer, oauth.url(endpoint), oauth.url("/oauth/token")],
                replays: oauth.assertionReplays)
            return "private_key_jwt:\(kid)"
        }
    }

    /// Whether a later authentication (`now`) is by the same method as the
    /// stored one (a confidential client may rotate its keys between them).
    static func sameMethod(_ stored: String, _ now: String) -> Bool {
        stored.split(separator: ":").first == now.split(separator: ":").first
    }
}
