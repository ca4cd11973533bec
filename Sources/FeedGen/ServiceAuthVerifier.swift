import ATCrypto
import ATProto
import Foundation

/// Finds the current atproto signing key of a DID (the `#atproto`
/// verification method of its DID document). `forceRefresh` asks for a
/// fresh resolution instead of a cached one.
public protocol SigningKeyResolver: Sendable {
    func signingKey(for did: DID, forceRefresh: Bool) async throws -> PublicKey
}

/// Verifies the service JWT a client (the AppView, for a user) sends with
/// `getFeedSkeleton`: signed with ES256K or ES256 by the issuer's current
/// signing key (cached; on a bad signature the key is resolved once more,
/// in case it was rotated), `aud` our feed generator DID, `lxm`
/// `app.bsky.feed.getFeedSkeleton`, and not expired.
public actor ServiceAuthVerifier {
    let resolver: any SigningKeyResolver
    let audience: String
    let keyLifetime: TimeInterval
    private var cache: [DID: (key: PublicKey, fetched: Date)] = [:]

    public static let feedSkeletonMethod = "app.bsky.feed.getFeedSkeleton"

    public init(resolver: any SigningKeyResolver, audience: String, keyLifetime: TimeInterval = 600) {
        self.resolver = resolver
        self.audience = audience
        self.keyLifetime = keyLifetime
    }

    /// Verifies `token` for `method`. - Returns: the requester's DID.
    public func verify(_ token: String, method: String = ServiceAuthVerifier.feedSkeletonMethod, now: Date = Date())
        async throws(FeedGenError) -> DID
    {
        let unverified: DecodedJWT
        do {
            unverified = try JWT.decodeUnverified(token)
        } catch {
            throw .invalidToken("Malformed service token: \(error)")
        }
        guard let issuer = unverified.claims.iss?.split(separator: "#").first.flatMap({ try? DID(String($0)) }) else {
            throw .invalidToken("Service token has no issuer DID (iss)")
        }
        guard ["ES256K", "ES256"].contains(unverified.header.alg) else {
            throw .invalidToken("Service token algorithm '\(unverified.header.alg)' is not ES256K or ES256")
        }
        var key = try await key(for: issuer, forceRefresh: false, now: now)
        var claims: JWTClaims
        do throws(JWTError) {
            claims = try check(token, key: key, now: now)
        } catch .badSignature, .algorithmMismatch {
            // The key may have been rotated: resolve it once more.
            key = try await self.key(for: issuer, forceRefresh: true, now: now)
            do throws(JWTError) {
                claims = try check(token, key: key, now: now)
            } catch {
                throw Self.translate(error)
            }
        } catch {
            throw Self.translate(error)
        }
        guard claims.lxm == method else {
            throw .invalidToken("Service token is for '\(claims.lxm ?? "no method")', not \(method)")
        }
        return issuer
    }

    private func check(_ token: String, key: PublicKey, now: Date) throws(JWTError) -> JWTClaims {
        try JWT.verify(token, key: key, expectedAudience: audience, now: now)
    }

    private static func translate(_ error: JWTError) -> FeedGenError {
        switch error {
        case .expired: return .expiredToken("Service token has expired")
        case .wrongAudience(let expected, let found):
            return .invalidToken("Service token audience \(found ?? "(none)") is not this feed generator (\(expected))")
        case .badSignature, .algorithmMismatch: return .invalidToken("Service token signature does not match the issuer's signing key")
        default: return .invalidToken("Service token rejected: \(error)")
        }
    }

    private func key(for did: DID, forceRefresh: Bool, now: Date) async throws(FeedGenError) -> PublicKey {
        if !forceRefresh, let cached = cache[did], now.timeIntervalSince(cached.fetched) < keyLifetime { return cached.key }
        let key: PublicKey
        do {
            key = try await resolver.signingKey(for: did, forceRefresh: forceRefresh)
        } catch {
            throw .invalidToken("Could not resolve the signing key of \(did): \(error)")
        }
        guard key.type != .ed25519 else { throw .invalidToken("The signing key of \(did) is Ed25519; service tokens need ES256K or ES256") }
        cache[did] = (key, now)
        return key
    }
}
