import Foundation

/// A client's metadata document (RFC 7591 names, as the atproto OAuth
/// profile uses them): what the client is called, where it may be sent
/// back to, what it may ask for and how it authenticates.
public struct ClientMetadata: Codable, Sendable, Equatable {
    public var client_id: String?
    public var client_name: String?
    public var client_uri: String?
    public var logo_uri: String?
    public var tos_uri: String?
    public var policy_uri: String?
    public var redirect_uris: [String]?
    public var grant_types: [String]?
    public var response_types: [String]?
    public var scope: String?
    public var token_endpoint_auth_method: String?
    public var token_endpoint_auth_signing_alg: String?
    public var application_type: String?
    public var dpop_bound_access_tokens: Bool?
    public var jwks: JWKSet?
    public var jwks_uri: String?

    public init() {}

    /// `{"keys": [...]}`.
    public struct JWKSet: Codable, Sendable, Equatable {
        public var keys: [JWKObject]
        public init(keys: [JWKObject]) { self.keys = keys }
    }
}

/// How a client proves who it is at the token endpoint.
public enum ClientAuthMethod: String, Sendable {
    /// A public client (browser app, mobile app): no secret, DPoP only.
    case none
    /// A confidential client: an ES256 client assertion (RFC 7523) signed
    /// with a key from its `jwks` or `jwks_uri`.
    case privateKeyJWT = "private_key_jwt"
}

/// A client whose metadata passed every check, as the server uses it.
public struct OAuthClient: Sendable, Equatable {
    public let clientID: String
    public let metadata: ClientMetadata
    public let redirectURIs: [String]
    public let scope: OAuthScope
    public let authMethod: ClientAuthMethod
    /// Whether the client is a loopback development client (no document).
    public let isLoopback: Bool
    /// Whether refresh tokens may be issued (`refresh_token` grant declared).
    public let mayRefresh: Bool

    /// The name shown on the consent page: the client's own, or its host.
    public var displayName: String {
        if let name = metadata.client_name, !name.isEmpty { return name }
        return URL(string: clientID)?.host ?? clientID
    }

    /// Whether `uri` is one of the client's redirect URIs. A loopback IP
    /// redirect (`http://127.0.0.1/…`, `http://[::1]/…`) matches whatever
    /// its port (RFC 8252 §7.3: a native app binds whichever port is free).
    public func allowsRedirect(_ uri: String) -> Bool {
        if redirectURIs.contains(uri) { return true }
        guard let given = URLComponents(string: uri), given.scheme == "http", let host = given.host, Self.isLoopbackIP(host) else {
            return false
        }
        return redirectURIs.contains { declared in
            guard let parts = URLComponents(string: declared), parts.scheme == "http", parts.host == host else { return false }
            return parts.percentEncodedPath == given.percentEncodedPath && parts.percentEncodedQuery == given.percentEncodedQuery
        }
    }

    static func isLoopbackIP(_ host: String) -> Bool { host == "127.0.0.1" || host == "[::1]" || host == "::1" }

    /// Checks a fetched document against the URL it was fetched from.
    public init(clientID: String, metadata: ClientMetadata) throws(OAuthError) {
        guard metadata.client_id == clientID else {
            throw .invalidClientMetadata("the document's client_id (\(metadata.client_id ?? "none")) is not the URL it was fetched from")
        }
        guard metadata.dpop_bound_access_tokens == true else {
            throw .invalidClientMetadata("dpop_bound_access_tokens must be true (atproto requires DPoP)")
        }
        let grants = metadata.grant_types ?? ["authorization_code"]
        guard grants.contains("authorization_code") else { throw .invalidClientMetadata("grant_types must include authorization_code") }
        if let unknown = grants.first(where: { $0 != "authorization_code" && $0 != "refresh_token" }) {
            throw .invalidClientMetadata("grant type \(unknown) is not supported")
        }
        guard (metadata.response_types ?? ["code"]).contains("code") else { throw .invalidClientMetadata("response_types must include code") }
        guard let scopeText = metadata.scope else { throw .invalidClientMetadata("the document must declare its scope") }
        let scope: OAuthScope
        do {
            scope = try OAuthScope(scopeText)
        } catch {
            throw .invalidClientMetadata("its scope is invalid: \(error.message)")
        }
        guard scope.hasAtproto else { throw .invalidClientMetadata("its scope must include atproto") }
        let applicationType = metadata.application_type ?? "web"
        guard applicationType == "web" || applicationType == "native" else {
            throw .invalidClientMetadata("application_type must be web or native")
        }
        guard let redirects = metadata.redirect_uris, !redirects.isEmpty else {
            throw .invalidClientMetadata("the document must list its redirect_uris")
        }
        guard let clientURL = URLComponents(string: clientID), let clientHost = clientURL.host else {
            throw .invalidClientMetadata("client_id is not a URL")
        }
        for redirect in redirects {
            try Self.checkRedirect(redirect, applicationType: applicationType, clientHost: clientHost)
        }
        let method = ClientAuthMethod(rawValue: metadata.token_endpoint_auth_method ?? "none")
        guard let method else { throw .invalidClientMetadata("token_endpoint_auth_method must be none or private_key_jwt") }
        if method == .privateKeyJWT {
            guard metadata.token_endpoint_auth_signing_alg == "ES256" else {
                throw .invalidClientMetadata("token_endpoint_auth_signing_alg must be ES256")
            }
            guard (metadata.jwks == nil) != (metadata.jwks_uri == nil) else {
                throw .invalidClientMetadata("a private_key_jwt client must give exactly one of jwks and jwks_uri")
            }
            if let keys = metadata.jwks?.keys {
                guard keys.contains(where: { (try? ECPublicJWK($0)) != nil && $0.kid != nil }) else {
                    throw .invalidClientMetadata("jwks must hold an ES256 (P-256) public key with a kid")
                }
            }
            if let uri = metadata.jwks_uri, URL(string: uri)?.scheme != "https" {
                throw .invalidClientMetadata("jwks_uri must be an https URL")
            }
        }
        for field in [metadata.client_uri, metadata.logo_uri, metadata.tos_uri, metadata.policy_uri] {
            if let field, URL(string: field)?.scheme != "https" { throw .invalidClientMetadata("\(field) must be an https URL") }
        }
        self.clientID = clientID
        self.metadata = metadata
        self.redirectURIs = redirects
        self.scope = scope
        self.authMethod = method
        self.isLoopback = false
        self.mayRefresh = grants.contains("refresh_token")
    }

    /// Web clients redirect to https; native clients also to a private
    /// scheme named for their host reversed (`com.example.app:/callback`)
    /// or to a loopback IP.
    static func checkRedirect(_ redirect: String, applicationType: String, clientHost: String) throws(OAuthError) {
        guard let parts = URLComponents(string: redirect), let scheme = parts.scheme?.lowercased() else {
            throw .invalidClientMetadata("redirect URI \(redirect) is not a URL")
        }
        guard parts.fragment == nil else { throw .invalidClientMetadata("redirect URI \(redirect) may not have a fragment") }
        switch scheme {
        case "https":
            guard parts.host?.isEmpty == false else { throw .invalidClientMetadata("redirect URI \(redirect) has no host") }
        case "http":
            guard let host = parts.host, isLoopbackIP(host) else {
                throw .invalidClientMetadata("redirect URI \(redirect): http is only for loopback IPs (127.0.0.1, [::1])")
            }
        default:
            let reversed = clientHost.split(separator: ".").reversed().joined(separator: ".")
            guard applicationType == "native", scheme == reversed.lowercased(), parts.host == nil || parts.host == "" else {
                throw .invalidClientMetadata(
                    "redirect URI \(redirect): a private scheme is only for native clients and must be \(reversed) (the client's host reversed)")
            }
        }
    }

    /// A loopback development client (`http://localhost?redirect_uri=…&scope=…`),
    /// which has no document (atproto OAuth spec, "Localhost Client Development").
    public init(loopbackClientID clientID: String) throws(OAuthError) {
        guard let parts = URLComponents(string: clientID), parts.scheme == "http", parts.host == "localhost", parts.port == nil,
            parts.path.isEmpty || parts.path == "/", parts.fragment == nil
        else { throw .invalidClient("a loopback client_id must be http://localhost with optional redirect_uri and scope parameters") }
        var redirects: [String] = []
        var scopeText = "atproto"
        for item in parts.queryItems ?? [] {
            switch item.name {
            case "redirect_uri":
                guard let value = item.value, let uri = URLComponents(string: value), uri.scheme == "http", let host = uri.host,
                    Self.isLoopbackIP(host)
                else { throw .invalidClient("a loopback client's redirect_uri must be http://127.0.0.1 or http://[::1]") }
                redirects.append(value)
            case "scope":
                // Form-encoded (`+` for a space), as clients build it; no
                // scope token holds a `+`.
                scopeText = (item.value ?? "").replacingOccurrences(of: "+", with: " ")
            default:
                throw .invalidClient("a loopback client_id may only carry redirect_uri and scope, not \(item.name)")
            }
        }
        let scope: OAuthScope
        do {
            scope = try OAuthScope(scopeText)
        } catch {
            throw .invalidClient("the loopback client's scope is invalid: \(error.message)")
        }
        guard scope.hasAtproto else { throw .invalidClient("the loopback client's scope must include atproto") }
        var metadata = ClientMetadata()
        metadata.client_id = clientID
        metadata.client_name = "Loopback client (development)"
        metadata.redirect_uris = redirects.isEmpty ? ["http://127.0.0.1/", "http://[::1]/"] : redirects
        metadata.scope = scopeText
        metadata.application_type = "native"
        metadata.token_endpoint_auth_method = "none"
        metadata.dpop_bound_access_tokens = true
        metadata.grant_types = ["authorization_code", "refresh_token"]
        self.clientID = clientID
        self.metadata = metadata
        self.redirectURIs = metadata.redirect_uris ?? []
        self.scope = scope
        self.authMethod = .none
        self.isLoopback = true
        self.mayRefresh = true
    }

    /// Whether `clientID` names a loopback development client.
    public static func isLoopbackClientID(_ clientID: String) -> Bool {
        clientID == "http://localhost" || clientID.hasPrefix("http://localhost?") || clientID.hasPrefix("http://localhost/")
    }
}
