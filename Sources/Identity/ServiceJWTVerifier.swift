import ATCrypto
import ATProto
import Foundation

/// Verifies inter-service JWTs (a PDS's token for a user, as a feed
/// generator, AppView or video service receives them): the `iss` DID's
/// `#atproto` key signed it (the document is fetched again once if the
/// cached key does not verify, in case the key rotated), `aud` is the
/// receiver, `lxm` the method called, and it has not expired.
public struct ServiceJWTVerifier: Sendable {
    public let resolver: DIDResolver

    public init(resolver: DIDResolver) {
        self.resolver = resolver
    }

    /// Why a token was refused.
    public enum Failure: Error, Sendable, Equatable, CustomStringConvertible {
        case malformed(String)
        case wrongMethod(expected: String, found: String?)
        case badSignature
        case rejected(String)
        case unresolvable(IdentityError)

        public var description: String {
            switch self {
            case .malformed(let why): return "malformed service token: \(why)"
            case .wrongMethod(let expected, let found): return "the service token is for \(found ?? "no method"), not \(expected)"
            case .badSignature: return "the service token's signature does not verify with the issuer's key"
            case .rejected(let why): return "the service token was refused: \(why)"
            case .unresolvable(let error): return "the issuer's key could not be found: \(error)"
            }
        }
    }

    /// Checks `token` for `audience` and (when given) method `lxm`.
    /// - Returns: the issuer DID (without a `#service` fragment) and the claims.
    public func verify(_ token: String, audience: String, lxm: String?, now: Date = Date()) async throws(Failure)
        -> (issuer: DID, claims: JWTClaims)
    {
        let decoded: DecodedJWT
        do {
            decoded = try JWT.decodeUnverified(token)
        } catch {
            throw .malformed("\(error)")
        }
        guard let rawIss = decoded.claims.iss, let issuer = rawIss.split(separator: "#").first.flatMap({ try? DID(String($0)) })
        else { throw .malformed("iss is not a DID") }
        if let lxm, decoded.claims.lxm != lxm { throw .wrongMethod(expected: lxm, found: decoded.claims.lxm) }
        for refresh in [false, true] {
            let key: PublicKey
            do {
                key = try await resolver.signingKey(for: issuer, forceRefresh: refresh)
            } catch {
                throw .unresolvable(error)
            }
            do {
                return (issuer, try JWT.verify(token, key: key, expectedAudience: audience, now: now))
            } catch .badSignature, .algorithmMismatch {
                continue
            } catch {
                throw .rejected("\(error)")
            }
        }
        throw .badSignature
    }
}
