import ATCrypto
import ATProto
import Foundation
import OAuth
import Synchronization

/// The authorization server's parts, shared by its endpoints, its pages
/// and the resource check of every XRPC call with an OAuth token.
public final class OAuthServices: Sendable {
    /// `https://<hostname>` (or `http://localhost:<port>` in development):
    /// the `iss` of every answer and the base of the endpoints' URLs.
    public let issuer: String
    let config: OAuthConfig
    let keys: OAuthServerKeys
    let dpop: DPoPVerifier
    /// `jti`s of client assertions already used.
    let assertionReplays = ReplayCache(capacity: 50_000)
    let clients: ClientRegistry
    /// `include:` permission sets, resolved and cached.
    let permissionSets: PermissionSetResolver
    public let requests: OAuthRequestStore
    public let grants: OAuthGrantStore
    public let devices: OAuthDeviceStore
    /// Access tokens whose signature was checked, with their claims.
    private let verified = Mutex<[String: AccessClaims]>([:])
    static let verifiedCapacity = 10_000

    /// What a pushed request is good for (RFC 9126 suggests 5 to 600 s).
    static let requestLifetime = 300
    /// How long a code may wait for its exchange.
    static let codeLifetime = 60
    /// The prefix of `request_uri` values (RFC 9126 §2.2).
    static let requestURIPrefix = "urn:ietf:params:oauth:request_uri:"

    init(
        config: PDSConfig, requests: OAuthRequestStore, grants: OAuthGrantStore, devices: OAuthDeviceStore, identity: IdentityServices
    ) throws {
        var issuer = config.resolvedPublicURL
        while issuer.hasSuffix("/") { issuer.removeLast() }
        self.issuer = issuer
        self.config = config.oauth
        keys = try OAuthServerKeys.loadOrCreate(in: config.dataDirectory)
        dpop = DPoPVerifier(nonces: DPoPNonces(secret: keys.nonceSecret))
        clients = ClientRegistry(http: identity.http, allowsHTTPLoopback: config.allowPrivateOutbound)
        permissionSets = PermissionSetResolver(identity: identity)
        self.requests = requests
        self.grants = grants
        self.devices = devices
    }

    /// The URL of an endpoint of this server (`/oauth/token`).
    func url(_ path: String) -> String { issuer + path }

    // MARK: - Access tokens

    /// What an access token says.
    struct AccessClaims: Sendable {
        let did: DID
        let grantID: String
        let scope: OAuthScope
        let jkt: String
        let clientID: String
        let exp: Int
    }

    /// A new access token for `grant`: an ES256 JWT (`at+jwt`, RFC 9068)
    /// bound to the grant's DPoP key (`cnf.jkt`).
    /// `scope` is the grant's with its permission sets expanded
    /// (``effectiveScope(_:)``).
    func accessToken(for grant: OAuthGrantStore.Grant, scope: String, serviceDID: String, now: Date = Date()) throws
        -> (token: String, expiresIn: Int)
    {
        let iat = Int(now.timeIntervalSince1970)
        let lifetime = config.accessTokenSeconds
        let claims = JWTClaims(
            iss: issuer, sub: grant.did.string, aud: serviceDID, exp: iat + lifetime, iat: iat, jti: grant.id, scope: scope,
            client_id: grant.clientID, cnf: .init(jkt: grant.dpopJKT))
        return (try JWT.sign(claims: claims, typ: "at+jwt", key: keys.signingKey), lifetime)
    }

    /// Checks an access token's signature, type, audience and expiry.
    func verifyAccessToken(_ token: String, serviceDID: String, now: Date = Date()) throws(XRPCError) -> AccessClaims {
        let seconds = Int(now.timeIntervalSince1970)
        if let known = verified.withLock({ $0[token] }) {
            guard known.exp > seconds else { throw .expiredToken() }
            return known
        }
        let claims: JWTClaims
        do {
            claims = try JWT.verify(token, key: keys.signingKey.publicKey, expectedAudience: serviceDID, expectedType: "at+jwt", now: now)
        } catch .expired {
            throw .expiredToken()
        } catch {
            throw .invalidToken("the OAuth access token is not valid: \(error)")
        }
        guard let did = claims.sub.flatMap({ try? DID($0) }), let grantID = claims.jti, let jkt = claims.cnf?.jkt,
            let scopeText = claims.scope, let scope = try? OAuthScope(scopeText), let clientID = claims.client_id, let exp = claims.exp
        else { throw .invalidToken("the OAuth access token lacks sub, jti, scope, client_id or cnf") }
        let answer = AccessClaims(did: did, grantID: grantID, scope: scope, jkt: jkt, clientID: clientID, exp: exp)
        verified.withLock {
            if $0.count >= Self.verifiedCapacity { $0.removeAll(keepingCapacity: true) }
            $0[token] = answer
        }
        return answer
    }

    // MARK: - Random values

    /// 32 random bytes, base64url: request IDs, codes, refresh tokens,
    /// device cookies.
    static func randomToken() -> String { Base64URL.encode(randomBytes(32)) }

    /// `count` bytes from the system's secure generator.
    static func randomBytes(_ count: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<count).map { _ in generator.next() }
    }

    /// SHA-256 of a secret, as the stores keep it.
    static func hash(_ secret: String) -> String { Base64URL.sha256(secret) }
}
