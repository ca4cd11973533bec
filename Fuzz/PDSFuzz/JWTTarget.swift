import ATCrypto
import Foundation

extension FuzzTargets {
    /// The secret of the target's HS256 tokens (the seed tokens use it).
    static let jwtSecret = Array("fuzz-secret".utf8)
    /// A fixed secp256k1 key: ES256K verification runs over every input too.
    static let jwtKey: PublicKey = {
        do {
            return try PrivateKey(type: .secp256k1, rawRepresentation: [UInt8](repeating: 7, count: 32)).publicKey
        } catch {
            preconditionFailure("the fixed key does not load: \(error)")
        }
    }()

    /// JWT parsing and verification (access and refresh tokens, service
    /// auth). DPoP proofs are JWTs too and will join this target with the
    /// OAuth server. Properties: a token that verifies decodes to the same
    /// claims without verification; and the claims of any token that
    /// decodes, signed again, verify to themselves (the claims codec is
    /// symmetric).
    static let jwt = FuzzTarget(
        name: "jwt", summary: "JWT decoding, HS256 and ES256K verification, claims round trip", prepare: { _ = jwtKey }
    ) { bytes in
        let token = String(decoding: bytes, as: UTF8.self)
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        _ = try? JWT.verify(token, key: jwtKey, expectedAudience: nil, now: now)
        let decoded = try? JWT.decodeUnverified(token)
        if let verified = try? JWT.verify(token, hmacSecret: jwtSecret, expectedAudience: nil, now: now) {
            precondition(decoded?.header.alg == JWT.hmacAlgorithm, "a token verifies with HS256 but does not say so")
            precondition(decoded?.claims == verified, "verification and decoding give different claims")
        }
        guard let decoded, let exp = decoded.claims.exp else { return }
        // A moment at which the claims are valid, if there is one.
        let moment = Double(exp) - 1
        if let nbf = decoded.claims.nbf, Double(nbf) > moment { return }
        if let iat = decoded.claims.iat, Double(iat) > moment { return }
        let typ = decoded.header.typ ?? "JWT"
        guard let again = try? JWT.sign(claims: decoded.claims, typ: typ, hmacSecret: jwtSecret) else {
            preconditionFailure("the claims of a decoded token do not sign")
        }
        let reread = try? JWT.verify(
            again, hmacSecret: jwtSecret, expectedAudience: decoded.claims.aud, expectedType: typ,
            now: Date(timeIntervalSince1970: moment), clockSkew: 0)
        var expected = decoded.claims
        expected.typ = typ
        precondition(reread == expected, "claims signed again do not verify to themselves")
    }
}
