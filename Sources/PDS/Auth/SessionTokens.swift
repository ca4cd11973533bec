import ATCrypto
import ATProto
import Foundation
import Synchronization

/// What a session token lets its holder do (the `scope` claim).
public enum AuthScope: String, Sendable {
    case access = "com.atproto.access"
    case appPass = "com.atproto.appPass"
    case appPassPrivileged = "com.atproto.appPassPrivileged"
    case refresh = "com.atproto.refresh"
}

/// Issues and checks the server's session tokens: short-lived access JWTs
/// (`typ: at+jwt`) and single-use refresh JWTs (`typ: refresh+jwt`), both
/// signed with the service's Ed25519 key, with `aud` the service DID. The
/// access token's `jti` names its session, so ending a session (logout, or
/// reuse of a spent refresh token) revokes its access tokens at once.
public struct SessionTokens: Sendable {
    let key: PrivateKey
    let serviceDID: String
    /// Tokens whose signature, type and audience were checked, with their
    /// claims: every request presents its access token again, and checking
    /// an Ed25519 signature costs tens of microseconds. Expiry is checked on
    /// every use; revocation is the session check's job.
    let verified = VerifiedTokens()
    public var accessLifetime: TimeInterval = 2 * 3600
    public var refreshLifetime: TimeInterval = 90 * 24 * 3600

    public init(key: PrivateKey, serviceDID: String) {
        self.key = key
        self.serviceDID = serviceDID
    }

    /// A new access token for `did` in session `sessionID`.
    public func accessToken(did: DID, scope: AuthScope, sessionID: String, now: Date = Date()) throws -> String {
        let iat = Int(now.timeIntervalSince1970)
        let claims = JWTClaims(
            sub: did.string, aud: serviceDID, exp: iat + Int(accessLifetime), iat: iat, jti: sessionID, scope: scope.rawValue)
        return try JWT.sign(claims: claims, typ: "at+jwt", key: key)
    }

    /// A new refresh token with id `tokenID`.
    public func refreshToken(did: DID, tokenID: String, now: Date = Date()) throws -> (token: String, expiresAt: Int) {
        let iat = Int(now.timeIntervalSince1970)
        let exp = iat + Int(refreshLifetime)
        let claims = JWTClaims(sub: did.string, aud: serviceDID, exp: exp, iat: iat, jti: tokenID, scope: AuthScope.refresh.rawValue)
        return (try JWT.sign(claims: claims, typ: "refresh+jwt", key: key), exp)
    }

    /// Checks a token's signature, type, audience and expiry.
    /// - Returns: the subject DID, the scope and the `jti`.
    public func verify(_ token: String, type: String, now: Date = Date()) throws(XRPCError) -> (did: DID, scope: AuthScope, jti: String) {
        if let known = verified.lookup(token, type: type) {
            guard known.exp > Int(now.timeIntervalSince1970) else { throw .expiredToken() }
            return (known.did, known.scope, known.jti)
        }
        let claims: JWTClaims
        do {
            claims = try JWT.verify(token, key: key.publicKey, expectedAudience: serviceDID, expectedType: type, now: now)
        } catch .expired {
            throw .expiredToken()
        } catch {
            throw .invalidToken("\(error)")
        }
        guard let did = claims.sub.flatMap({ try? DID($0) }), let scopeName = claims.scope, let scope = AuthScope(rawValue: scopeName),
            let jti = claims.jti
        else { throw .invalidToken("the token lacks sub (a DID), scope or jti") }
        if type == "refresh+jwt" && scope != .refresh { throw .invalidToken("not a refresh token") }
        if type == "at+jwt" && scope == .refresh { throw .invalidToken("a refresh token cannot be used for access") }
        if let exp = claims.exp {
            verified.remember(token, VerifiedTokens.Entry(type: type, did: did, scope: scope, jti: jti, exp: exp))
        }
        return (did, scope, jti)
    }
}

/// A bounded memory of tokens already verified (see ``SessionTokens``).
final class VerifiedTokens: Sendable {
    struct Entry: Sendable {
        let type: String
        let did: DID
        let scope: AuthScope
        let jti: String
        let exp: Int
    }

    static let capacity = 10_000
    private let entries = Mutex<[String: Entry]>([:])

    func lookup(_ token: String, type: String) -> Entry? {
        guard let entry = entries.withLock({ $0[token] }), entry.type == type else { return nil }
        return entry
    }

    func remember(_ token: String, _ entry: Entry) {
        entries.withLock {
            if $0.count >= VerifiedTokens.capacity { $0.removeAll(keepingCapacity: true) }
            $0[token] = entry
        }
    }
}
