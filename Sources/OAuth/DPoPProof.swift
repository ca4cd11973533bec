import ATProto
import Foundation

/// A checked DPoP proof (RFC 9449): whose key made it, and its identifier.
public struct DPoPProof: Sendable, Equatable {
    /// The RFC 7638 thumbprint of the proof's key: tokens are bound to it.
    public let jkt: String
    public let jti: String
}

/// Checks DPoP proofs for the authorization server (PAR, token, revoke)
/// and the resource server (XRPC): signature by the `jwk` of the header
/// (ES256 only), `typ: dpop+jwt`, `htm` and `htu` equal to the request's
/// (query and fragment ignored), `iat` within ``maxAge`` (and at most
/// ``futureSkew`` ahead), a server nonce, `ath` when a token is presented,
/// and each `jti` used once.
public struct DPoPVerifier: Sendable {
    public let nonces: DPoPNonces
    public let replays: ReplayCache
    /// Oldest proof accepted, in seconds (its `iat`).
    public var maxAge = 60
    /// Clock difference tolerated for proofs from the future.
    public var futureSkew = 10

    public init(nonces: DPoPNonces, replays: ReplayCache = ReplayCache()) {
        self.nonces = nonces
        self.replays = replays
    }

    struct Header: Decodable {
        let typ: String?
        let alg: String?
        let jwk: JWKObject?
        let crit: [String]?
    }

    struct Payload: Decodable {
        let jti: String?
        let htm: String?
        let htu: String?
        let iat: Double?
        let ath: String?
        let nonce: String?
    }

    /// Checks `proof` for a request of `method` to `url`.
    /// - Parameters:
    ///   - accessToken: the token the request presents (resource requests),
    ///     whose hash the proof's `ath` must be.
    /// - Throws: `invalid_dpop_proof`, or `use_dpop_nonce` when the proof
    ///   carries no nonce or one that is no longer accepted (the caller
    ///   sends the current one in `DPoP-Nonce` with the error).
    public func verify(_ proof: String?, method: String, url: String, accessToken: String? = nil, now: Date = Date())
        throws(OAuthError) -> DPoPProof
    {
        guard let proof, !proof.isEmpty else { throw .invalidDPoPProof("a DPoP proof is required (the DPoP header)") }
        let jws: CompactJWS<Header, Payload>
        do {
            jws = try Self.decode(proof)
        } catch {
            throw .invalidDPoPProof(error.message)
        }
        guard jws.header.typ == "dpop+jwt" else { throw .invalidDPoPProof("the proof's typ must be dpop+jwt") }
        guard jws.header.alg == "ES256" else { throw .invalidDPoPProof("the proof must be signed with ES256") }
        if let crit = jws.header.crit, !crit.isEmpty { throw .invalidDPoPProof("the proof names critical headers this server does not know") }
        guard let jwkObject = jws.header.jwk else { throw .invalidDPoPProof("the proof's header must carry its public key (jwk)") }
        let jwk: ECPublicJWK
        do {
            jwk = try ECPublicJWK(jwkObject, checkingPoint: false)
        } catch {
            throw .invalidDPoPProof(error.message)
        }
        guard jwk.verify(signature: jws.signature, message: jws.signingInput) else {
            throw .invalidDPoPProof("the proof's signature does not verify with its jwk")
        }
        let claims = jws.payload
        guard let jti = claims.jti, !jti.isEmpty, jti.utf8.count <= 256 else { throw .invalidDPoPProof("the proof needs a jti") }
        guard claims.htm == method else {
            throw .invalidDPoPProof("the proof's htm (\(claims.htm ?? "none")) is not the request's method (\(method))")
        }
        // The URL is the server's own (already normal); most clients send it
        // the same way, so the string compare settles it without parsing.
        guard let htu = claims.htu, htu == url || Self.normalized(htu) == Self.normalized(url) else {
            throw .invalidDPoPProof("the proof's htu (\(claims.htu ?? "none")) is not this request's URL (\(Self.normalized(url) ?? url))")
        }
        let seconds = Int(now.timeIntervalSince1970)
        guard let iatValue = claims.iat, iatValue.isFinite, abs(iatValue) < 1e12 else { throw .invalidDPoPProof("the proof needs an iat") }
        let iat = Int(iatValue)
        guard iat <= seconds + futureSkew else { throw .invalidDPoPProof("the proof's iat is in the future") }
        guard iat >= seconds - maxAge else { throw .invalidDPoPProof("the proof is too old (iat more than \(maxAge) s ago)") }
        if let accessToken {
            guard let ath = claims.ath else { throw .invalidDPoPProof("the proof must carry ath, the hash of the access token") }
            guard ath == Base64URL.sha256(accessToken) else { throw .invalidDPoPProof("the proof's ath is not the hash of this access token") }
        }
        guard let nonce = claims.nonce else { throw .useDPoPNonce() }
        guard nonces.accepts(nonce, now: now) else { throw .useDPoPNonce("the DPoP nonce is stale; use the one in DPoP-Nonce") }
        let key = jwk.thumbprint
        guard replays.firstUse(key + ":" + jti, expiresAt: iat + maxAge + futureSkew, now: seconds) else {
            throw .invalidDPoPProof("this DPoP proof was used before (jti replayed)")
        }
        return DPoPProof(jkt: key, jti: jti)
    }

    /// Decodes a proof with the data model's JSON reader (a tenth of the
    /// time of Foundation's decoder, which took a fifth of a DPoP check), or,
    /// for JSON it does not take (a fractional `iat`), with Foundation's.
    static func decode(_ proof: String) throws(OAuthError) -> CompactJWS<Header, Payload> {
        let (headerBytes, payloadBytes, signingInput, signature) = try CompactJWS<Header, Payload>.split(proof, what: "the DPoP proof")
        guard case .map(let header)? = try? ATProtoJSON.decode(headerBytes, mode: .lenient),
            case .map(let payload)? = try? ATProtoJSON.decode(payloadBytes, mode: .lenient)
        else { return try CompactJWS(proof, what: "the DPoP proof") }
        func string(_ map: DataMap, _ key: String) throws(OAuthError) -> String? {
            switch map[key] {
            case nil, .null?: return nil
            case .string(let value)?: return value
            default: throw .invalidRequest("the DPoP proof's \(key) is not a string")
            }
        }
        var jwk: JWKObject? = nil
        if let value = header["jwk"] {
            guard case .map(let key) = value else { throw .invalidRequest("the DPoP proof's jwk is not an object") }
            jwk = JWKObject(kty: try string(key, "kty"), crv: try string(key, "crv"), x: try string(key, "x"), y: try string(key, "y"))
            jwk?.d = try string(key, "d")
        }
        var crit: [String]? = nil
        if let value = header["crit"] {
            guard case .array(let names) = value else { throw .invalidRequest("the DPoP proof's crit is not an array") }
            crit = names.compactMap(\.stringValue)
        }
        let iat: Double? =
            switch payload["iat"] {
            case .int(let seconds)?: Double(seconds)
            case nil, .null?: nil
            default: throw OAuthError.invalidRequest("the DPoP proof's iat is not a number")
            }
        return CompactJWS(
            header: Header(typ: try string(header, "typ"), alg: try string(header, "alg"), jwk: jwk, crit: crit),
            payload: Payload(
                jti: try string(payload, "jti"), htm: try string(payload, "htm"), htu: try string(payload, "htu"), iat: iat,
                ath: try string(payload, "ath"), nonce: try string(payload, "nonce")),
            signingInput: signingInput, signature: signature)
    }

    /// `scheme://host[:port]/path` of a URL, lowercased scheme and host,
    /// default port dropped, query and fragment ignored (RFC 9449 §4.3).
    static func normalized(_ text: String) -> String? {
        guard var parts = URLComponents(string: text), let scheme = parts.scheme?.lowercased(), let host = parts.host?.lowercased(),
            scheme == "https" || scheme == "http"
        else { return nil }
        parts.query = nil
        parts.fragment = nil
        let port = parts.port.flatMap { (scheme == "https" && $0 == 443) || (scheme == "http" && $0 == 80) ? nil : $0 }
        let path = parts.percentEncodedPath.isEmpty ? "/" : parts.percentEncodedPath
        return "\(scheme)://\(host)\(port.map { ":\($0)" } ?? "")\(path)"
    }
}
