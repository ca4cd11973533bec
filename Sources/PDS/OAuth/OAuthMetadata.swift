import ATProto
import Hummingbird
import OAuth

/// The server's OAuth metadata documents: the resource server's (RFC 9728)
/// naming this server as its own authorization server, and the
/// authorization server's (RFC 8414) with what the atproto profile asks.
enum OAuthMetadata {
    /// The scopes advertised: the static ones and a pattern of each
    /// granular resource.
    static let scopesSupported: [String] =
        OAuthScope.staticScopes + ["repo:*", "blob:*/*", "rpc:*", "account:email", "account:repo", "account:status", "identity:handle", "identity:*", "include:*"]

    static func protectedResource(_ oauth: OAuthServices) -> DataValue {
        [
            "resource": .string(oauth.issuer),
            "authorization_servers": [.string(oauth.issuer)],
            "scopes_supported": .array(scopesSupported.map { .string($0) }),
            "bearer_methods_supported": ["header"],
            "resource_documentation": "https://atproto.com",
        ]
    }

    static func authorizationServer(_ oauth: OAuthServices) -> DataValue {
        func strings(_ values: [String]) -> DataValue { .array(values.map { .string($0) }) }
        return [
            "issuer": .string(oauth.issuer),
            "authorization_endpoint": .string(oauth.url("/oauth/authorize")),
            "token_endpoint": .string(oauth.url("/oauth/token")),
            "pushed_authorization_request_endpoint": .string(oauth.url("/oauth/par")),
            "revocation_endpoint": .string(oauth.url("/oauth/revoke")),
            "jwks_uri": .string(oauth.url("/oauth/jwks")),
            "require_pushed_authorization_requests": true,
            "response_types_supported": ["code"],
            "response_modes_supported": strings(AuthorizationParameters.responseModes),
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["none", "private_key_jwt"],
            "token_endpoint_auth_signing_alg_values_supported": ["ES256"],
            "revocation_endpoint_auth_methods_supported": ["none", "private_key_jwt"],
            "dpop_signing_alg_values_supported": ["ES256"],
            "scopes_supported": strings(scopesSupported),
            "subject_types_supported": ["public"],
            "client_id_metadata_document_supported": true,
            "authorization_response_iss_parameter_supported": true,
            "request_parameter_supported": false,
            "request_uri_parameter_supported": true,
            "require_request_uri_registration": true,
            "prompt_values_supported": strings(AuthorizationParameters.prompts),
            "protected_resources": [.string(oauth.issuer)],
        ]
    }

    static func jwks(_ oauth: OAuthServices) -> DataValue {
        let key = oauth.keys.publicJWK
        var jwk: DataMap = ["kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256"]
        jwk["x"] = key.x.map { .string($0) }
        jwk["y"] = key.y.map { .string($0) }
        jwk["kid"] = key.kid.map { .string($0) }
        return ["keys": [.map(jwk)]]
    }
}
