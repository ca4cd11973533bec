import ATCrypto
import ATProto
import Foundation
import Identity

/// Service-auth JWTs: minted with an account's repository signing key for
/// another service (`iss` the account, `aud` the service DID, `lxm` the
/// method, short `exp`), and verified when another service (the video
/// service) presents one of a user's tokens to this server.
enum ServiceAuth {
    /// The `typ` of service-auth tokens.
    static let type = "JWT"

    /// A token for `aud` to accept from `account`; `exp` defaults to 60 s.
    static func mint(account: Account, aud: String, lxm: String?, exp: Int? = nil, now: Date = Date()) throws -> String {
        let iat = Int(now.timeIntervalSince1970)
        let claims = JWTClaims(
            iss: account.did.string, aud: aud, exp: exp ?? iat + 60, iat: iat, lxm: lxm, jti: randomID())
        return try JWT.sign(claims: claims, typ: type, key: account.signingKey)
    }

    static func randomID() -> String {
        var rng = SystemRandomNumberGenerator()
        return (0..<16).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &rng)) }.joined()
    }

    /// Whether a bearer token looks like a service-auth token (it carries
    /// `iss` and `lxm`; session tokens carry `sub` and `scope`).
    static func looksLikeServiceToken(_ token: String) -> Bool {
        guard let decoded = try? JWT.decodeUnverified(token) else { return false }
        return decoded.claims.iss != nil && decoded.claims.scope == nil && decoded.header.typ != "at+jwt"
            && decoded.header.typ != "refresh+jwt"
    }

    /// Verifies a user's service token addressed to this server for method
    /// `lxm`: signature by the issuer's key (a local account's own key,
    /// otherwise the key in its DID document, refreshed once if it does not
    /// verify), `aud` our service DID, `lxm`, `exp` (at most an hour away).
    /// - Returns: the issuer DID.
    static func verifyUserToken(_ token: String, lxm: String, services: PDSServices) async throws -> DID {
        let decoded: DecodedJWT
        do {
            decoded = try JWT.decodeUnverified(token)
        } catch {
            throw XRPCError.invalidToken("Malformed service token")
        }
        guard let rawIss = decoded.claims.iss else { throw XRPCError.invalidToken("The service token has no iss") }
        guard let iss = try? DID(String(rawIss.split(separator: "#").first ?? "")) else { throw XRPCError.invalidToken("The service token's iss is not a DID") }
        guard decoded.claims.lxm == lxm else {
            throw XRPCError.invalidToken("The service token is for \(decoded.claims.lxm ?? "no method"), not \(lxm)")
        }
        if let exp = decoded.claims.exp, exp > Int(Date().timeIntervalSince1970) + 3600 {
            throw XRPCError.invalidToken("The service token expires too far in the future")
        }
        func check(_ key: PublicKey) throws(XRPCError) -> Bool {
            do {
                _ = try JWT.verify(token, key: key, expectedAudience: services.config.resolvedServiceDID)
                return true
            } catch .badSignature, .algorithmMismatch {
                return false
            } catch .expired {
                throw XRPCError.invalidToken("The service token has expired")
            } catch {
                throw XRPCError.invalidToken("The service token does not verify: \(error)")
            }
        }
        if let account = try await services.accounts.account(did: iss), account.status != .deleted {
            guard try check(account.signingKey.publicKey) else { throw XRPCError.invalidToken("Bad service token signature") }
            return iss
        }
        do {
            return try await ServiceJWTVerifier(resolver: services.identity.dids)
                .verify(token, audience: services.config.resolvedServiceDID, lxm: lxm).issuer
        } catch {
            throw XRPCError.invalidToken("The service token does not verify: \(error)")
        }
    }
}
