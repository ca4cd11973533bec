import ATProto
import Crypto
import Foundation

/// Compact JWS tokens (RFC 7515/7519) signed with ES256K, ES256, EdDSA or
/// HS256.
///
/// Verification never takes the algorithm from the token: the header `alg`
/// must equal the algorithm of the key the caller supplies (`HS256` for a
/// secret), so `alg: none` and algorithm-confusion tokens fail. ECDSA
/// signatures must be 64-byte low-S `r‖s`. Every accepted token must carry
/// `exp`; `nbf` and `iat` must not be in the future; all with a clock skew.
public enum JWT {
    /// The `alg` of HMAC-SHA256 tokens.
    public static let hmacAlgorithm = "HS256"

    // MARK: Signing

    /// Signs `claims` with `key` (alg from the key type) and header `typ`.
    /// `claims.typ` is ignored; the header carries `typ`.
    public static func sign(claims: JWTClaims, typ: String, key: PrivateKey) throws(JWTError) -> String {
        let input = try signingInput(alg: key.type.jwtAlgorithm, typ: typ, claims: claims)
        let signature: [UInt8]
        do {
            signature = try key.sign(Array(input.utf8))
        } catch {
            throw .signingFailed(error.description)
        }
        return input + "." + base64url(signature)
    }

    /// Signs `claims` with HMAC-SHA256 (`HS256`) and header `typ`.
    /// - Throws: `JWTError.invalidSecret` for an empty secret.
    public static func sign(claims: JWTClaims, typ: String, hmacSecret: [UInt8]) throws(JWTError) -> String {
        guard !hmacSecret.isEmpty else { throw .invalidSecret }
        let input = try signingInput(alg: hmacAlgorithm, typ: typ, claims: claims)
        let mac = HMAC<SHA256>.authenticationCode(for: Array(input.utf8), using: SymmetricKey(data: hmacSecret))
        return input + "." + base64url(Array(mac))
    }

    // MARK: Decoding

    /// Splits and decodes a token without checking its signature or claims,
    /// e.g. to read `iss` before fetching the issuer's key. Never trust the
    /// result for anything else.
    /// - Throws: `JWTError.malformed`.
    public static func decodeUnverified(_ token: String) throws(JWTError) -> DecodedJWT {
        let parts = try split(token)
        var claims = try decodeJSON(JWTClaims.self, parts.payload, what: "payload")
        claims.typ = parts.header.typ
        return DecodedJWT(
            header: parts.header, claims: claims, signingInput: parts.signingInput, signature: parts.signature)
    }

    // MARK: Verification

    /// Verifies a token signed by `key` and returns its claims (with `typ`
    /// from the header).
    /// - Parameters:
    ///   - expectedAudience: when non-nil, `aud` must equal it.
    ///   - expectedType: when non-nil, the header `typ` must equal it.
    ///   - now: the current time.
    ///   - clockSkew: seconds of tolerance for `exp`, `nbf` and `iat`.
    /// - Throws: the `JWTError` naming the first failed check, in the order
    ///   structure, algorithm, signature, payload, type, times, audience.
    public static func verify(
        _ token: String, key: PublicKey, expectedAudience: String?, expectedType: String? = nil,
        now: Date = Date(), clockSkew: TimeInterval = 30
    ) throws(JWTError) -> JWTClaims {
        try verify(
            token, algorithm: key.type.jwtAlgorithm, expectedAudience: expectedAudience,
            expectedType: expectedType, now: now, clockSkew: clockSkew
        ) { input, signature in
            key.verify(signature: signature, message: input)
        }
    }

    /// Verifies an `HS256` token with `hmacSecret` (constant-time MAC check)
    /// and returns its claims; see `verify(_:key:…)` for the checks.
    public static func verify(
        _ token: String, hmacSecret: [UInt8], expectedAudience: String?, expectedType: String? = nil,
        now: Date = Date(), clockSkew: TimeInterval = 30
    ) throws(JWTError) -> JWTClaims {
        guard !hmacSecret.isEmpty else { throw .invalidSecret }
        return try verify(
            token, algorithm: hmacAlgorithm, expectedAudience: expectedAudience,
            expectedType: expectedType, now: now, clockSkew: clockSkew
        ) { input, signature in
            HMAC<SHA256>.isValidAuthenticationCode(signature, authenticating: input, using: SymmetricKey(data: hmacSecret))
        }
    }

    private static func verify(
        _ token: String, algorithm: String, expectedAudience: String?, expectedType: String?,
        now: Date, clockSkew: TimeInterval, checkSignature: ([UInt8], [UInt8]) -> Bool
    ) throws(JWTError) -> JWTClaims {
        let parts = try split(token)
        guard parts.header.alg == algorithm else {
            throw .algorithmMismatch(expected: algorithm, found: parts.header.alg)
        }
        guard checkSignature(Array(parts.signingInput.utf8), parts.signature) else { throw .badSignature }

        var claims = try decodeJSON(JWTClaims.self, parts.payload, what: "payload")
        claims.typ = parts.header.typ
        if let expectedType, claims.typ != expectedType {
            throw .wrongType(expected: expectedType, found: claims.typ)
        }

        let seconds = now.timeIntervalSince1970
        let nowInt = Int(seconds.rounded(.down))
        guard let exp = claims.exp else { throw .missingExpiration }
        if Double(exp) + clockSkew <= seconds { throw .expired(exp: exp, now: nowInt) }
        if let nbf = claims.nbf, Double(nbf) - clockSkew > seconds {
            throw .notYetValid(claim: "nbf", value: nbf, now: nowInt)
        }
        if let iat = claims.iat, Double(iat) - clockSkew > seconds {
            throw .notYetValid(claim: "iat", value: iat, now: nowInt)
        }
        if let expectedAudience, claims.aud != expectedAudience {
            throw .wrongAudience(expected: expectedAudience, found: claims.aud)
        }
        return claims
    }

    // MARK: Helpers

    private struct Parts {
        let header: JWTHeader
        let payload: [UInt8]
        let signingInput: String
        let signature: [UInt8]
    }

    /// Splits into three base64url segments and decodes the header; the
    /// payload is decoded only to bytes so it is parsed after verification.
    private static func split(_ token: String) throws(JWTError) -> Parts {
        let segments = token.split(separator: ".", omittingEmptySubsequences: false)
        guard segments.count == 3 else {
            throw .malformed("expected 3 dot-separated segments, found \(segments.count)")
        }
        let headerBytes = try base64urlDecode(segments[0], what: "header")
        let payload = try base64urlDecode(segments[1], what: "payload")
        let signature = try base64urlDecode(segments[2], what: "signature")
        let header = try decodeJSON(JWTHeader.self, headerBytes, what: "header")
        if let crit = header.crit, !crit.isEmpty {
            throw .malformed("unsupported critical header parameters: \(crit.joined(separator: ", "))")
        }
        return Parts(
            header: header, payload: payload,
            signingInput: segments[0] + "." + segments[1], signature: signature)
    }

    private static func signingInput(alg: String, typ: String, claims: JWTClaims) throws(JWTError) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        do {
            let header = try encoder.encode(JWTHeader(alg: alg, typ: typ))
            let payload = try encoder.encode(claims)
            return base64url(Array(header)) + "." + base64url(Array(payload))
        } catch {
            throw .signingFailed("JSON encoding failed: \(error)")
        }
    }

    private static func decodeJSON<T: Decodable>(_ type: T.Type, _ bytes: [UInt8], what: String) throws(JWTError) -> T {
        do {
            return try JSONDecoder().decode(T.self, from: Data(bytes))
        } catch {
            throw .malformed("\(what) is not valid JSON of the expected shape")
        }
    }

    private static func base64url(_ bytes: [UInt8]) -> String {
        Base64.encode(bytes, alphabet: .url, padding: false)
    }

    private static func base64urlDecode(_ segment: Substring, what: String) throws(JWTError) -> [UInt8] {
        guard !segment.contains("="), let bytes = Base64.decode(segment, alphabet: .url) else {
            throw .malformed("\(what) is not unpadded base64url")
        }
        return bytes
    }
}
