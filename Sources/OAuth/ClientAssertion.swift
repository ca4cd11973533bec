import Foundation

/// A confidential client's proof of identity at the token endpoint
/// (`private_key_jwt`, RFC 7523 §2.2): a JWT signed with one of its keys,
/// issued by and about itself, for this server, used once.
public enum ClientAssertion {
    /// `client_assertion_type` of a JWT assertion.
    public static let type = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

    struct Header: Decodable {
        let alg: String?
        let kid: String?
        let typ: String?
    }

    struct Payload: Decodable {
        let iss: String?
        let sub: String?
        let aud: Audience?
        let exp: Double?
        let iat: Double?
        let jti: String?
    }

    /// `aud` as a string or an array of strings.
    enum Audience: Decodable {
        case one(String)
        case many([String])

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let one = try? container.decode(String.self) { self = .one(one) } else { self = .many(try container.decode([String].self)) }
        }

        var values: [String] {
            switch self {
            case .one(let value): [value]
            case .many(let values): values
            }
        }
    }

    /// Checks `assertion` for `clientID` against the client's `keys`.
    /// - Parameters:
    ///   - audiences: what `aud` may be (the issuer, or the endpoint's URL).
    ///   - replays: where used `jti`s are remembered.
    /// - Returns: the `kid` of the key that signed it.
    public static func verify(
        _ assertion: String, clientID: String, keys: [JWKObject], audiences: [String], replays: ReplayCache, now: Date = Date()
    ) throws(OAuthError) -> String {
        let jws: CompactJWS<Header, Payload>
        do {
            jws = try CompactJWS(assertion, what: "the client assertion")
        } catch {
            throw .invalidClient(error.message)
        }
        guard jws.header.alg == "ES256" else { throw .invalidClient("the client assertion must be signed with ES256") }
        guard let kid = jws.header.kid else { throw .invalidClient("the client assertion's header must name its key (kid)") }
        guard let jwkObject = keys.first(where: { $0.kid == kid }), let key = try? ECPublicJWK(jwkObject) else {
            throw .invalidClient("the client's keys hold no ES256 key with kid \(kid)")
        }
        guard key.verify(signature: jws.signature, message: jws.signingInput) else {
            throw .invalidClient("the client assertion's signature does not verify")
        }
        let claims = jws.payload
        guard claims.iss == clientID, claims.sub == clientID else { throw .invalidClient("the client assertion's iss and sub must be the client_id") }
        guard let aud = claims.aud?.values, aud.contains(where: audiences.contains) else {
            throw .invalidClient("the client assertion's aud must be this server (\(audiences.first ?? ""))")
        }
        let seconds = Int(now.timeIntervalSince1970)
        guard let exp = claims.exp, exp.isFinite, Int(exp) > seconds else { throw .invalidClient("the client assertion has expired (exp)") }
        guard let iat = claims.iat, iat.isFinite, Int(iat) <= seconds + 10, Int(iat) >= seconds - 300 else {
            throw .invalidClient("the client assertion's iat must be within the last five minutes")
        }
        guard let jti = claims.jti, !jti.isEmpty, jti.utf8.count <= 256 else { throw .invalidClient("the client assertion needs a jti") }
        guard replays.firstUse("client:" + clientID + ":" + jti, expiresAt: max(Int(exp), seconds + 310), now: seconds) else {
            throw .invalidClient("this client assertion was used before (jti replayed)")
        }
        return kid
    }
}
