import ATCrypto
import ATProto
import Foundation
import Testing

/// Compact JWS signing and verification.
@Suite struct JWTTests {
    static let now = Date(timeIntervalSince1970: 1_750_000_000)
    static let nowSeconds = 1_750_000_000
    static let audience = "did:web:pds.example.com"
    static let secret = Array("a-test-secret-that-is-32-bytes!!".utf8)

    static func claims(exp: Int? = nowSeconds + 60, iat: Int? = nowSeconds, nbf: Int? = nil) -> JWTClaims {
        JWTClaims(
            iss: "did:plc:abc123", sub: "did:plc:abc123", aud: audience, exp: exp, iat: iat, nbf: nbf,
            lxm: "com.atproto.repo.createRecord", jti: "nonce-1", scope: "com.atproto.access")
    }

    /// Builds a token from raw JSON parts and signature, bypassing `JWT.sign`.
    static func rawToken(header: String, payload: String, signature: [UInt8]) -> String {
        func b64(_ b: [UInt8]) -> String { Base64.encode(b, alphabet: .url, padding: false) }
        return b64(Array(header.utf8)) + "." + b64(Array(payload.utf8)) + "." + b64(signature)
    }

    static func segments(_ token: String) -> [String] {
        token.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
    }

    @Test(arguments: KeyType.allCases)
    func roundTripWithKey(type: KeyType) throws {
        let key = PrivateKey.generate(type)
        let token = try JWT.sign(claims: Self.claims(), typ: "at+jwt", key: key)
        let claims = try JWT.verify(token, key: key.publicKey, expectedAudience: Self.audience, now: Self.now)
        var expected = Self.claims()
        expected.typ = "at+jwt"
        #expect(claims == expected)

        let decoded = try JWT.decodeUnverified(token)
        #expect(decoded.header.alg == type.jwtAlgorithm)
        #expect(decoded.header.typ == "at+jwt")
        #expect(decoded.claims == expected)
        #expect(decoded.signature.count == 64)
        #expect(!Self.segments(token)[1].contains("typ"))
    }

    @Test func roundTripWithHMAC() throws {
        let token = try JWT.sign(claims: Self.claims(), typ: "refresh+jwt", hmacSecret: Self.secret)
        let claims = try JWT.verify(
            token, hmacSecret: Self.secret, expectedAudience: Self.audience, expectedType: "refresh+jwt",
            now: Self.now)
        #expect(claims.sub == "did:plc:abc123")
        #expect(claims.typ == "refresh+jwt")
        #expect(try JWT.decodeUnverified(token).header.alg == "HS256")
        #expect(throws: JWTError.badSignature) {
            try JWT.verify(token, hmacSecret: Array("another".utf8), expectedAudience: nil, now: Self.now)
        }
        #expect(throws: JWTError.invalidSecret) {
            try JWT.sign(claims: Self.claims(), typ: "JWT", hmacSecret: [])
        }
    }

    @Test func expiry() throws {
        let key = PrivateKey.generate(.secp256k1)
        let expired = try JWT.sign(claims: Self.claims(exp: Self.nowSeconds - 31), typ: "JWT", key: key)
        #expect(throws: JWTError.expired(exp: Self.nowSeconds - 31, now: Self.nowSeconds)) {
            try JWT.verify(expired, key: key.publicKey, expectedAudience: nil, now: Self.now)
        }
        // Within the clock skew it is still accepted; with no skew it is not.
        let recent = try JWT.sign(claims: Self.claims(exp: Self.nowSeconds - 10), typ: "JWT", key: key)
        _ = try JWT.verify(recent, key: key.publicKey, expectedAudience: nil, now: Self.now)
        #expect(throws: JWTError.expired(exp: Self.nowSeconds - 10, now: Self.nowSeconds)) {
            try JWT.verify(recent, key: key.publicKey, expectedAudience: nil, now: Self.now, clockSkew: 0)
        }
        let noExp = try JWT.sign(claims: Self.claims(exp: nil), typ: "JWT", key: key)
        #expect(throws: JWTError.missingExpiration) {
            try JWT.verify(noExp, key: key.publicKey, expectedAudience: nil, now: Self.now)
        }
    }

    @Test func notYetValid() throws {
        let key = PrivateKey.generate(.p256)
        let future = Self.nowSeconds + 120
        let nbf = try JWT.sign(claims: Self.claims(exp: future + 60, nbf: future), typ: "JWT", key: key)
        #expect(throws: JWTError.notYetValid(claim: "nbf", value: future, now: Self.nowSeconds)) {
            try JWT.verify(nbf, key: key.publicKey, expectedAudience: nil, now: Self.now)
        }
        let iat = try JWT.sign(claims: Self.claims(exp: future + 60, iat: future), typ: "JWT", key: key)
        #expect(throws: JWTError.notYetValid(claim: "iat", value: future, now: Self.nowSeconds)) {
            try JWT.verify(iat, key: key.publicKey, expectedAudience: nil, now: Self.now)
        }
        // 20 s in the future is within the default 30 s skew.
        let slight = try JWT.sign(claims: Self.claims(iat: Self.nowSeconds + 20), typ: "JWT", key: key)
        _ = try JWT.verify(slight, key: key.publicKey, expectedAudience: nil, now: Self.now)
    }

    @Test func audienceAndType() throws {
        let key = PrivateKey.generate(.ed25519)
        let token = try JWT.sign(claims: Self.claims(), typ: "at+jwt", key: key)
        #expect(throws: JWTError.wrongAudience(expected: "did:web:other.example", found: Self.audience)) {
            try JWT.verify(token, key: key.publicKey, expectedAudience: "did:web:other.example", now: Self.now)
        }
        // No expected audience: aud is not checked.
        _ = try JWT.verify(token, key: key.publicKey, expectedAudience: nil, now: Self.now)
        var noAud = Self.claims()
        noAud.aud = nil
        let tokenNoAud = try JWT.sign(claims: noAud, typ: "at+jwt", key: key)
        #expect(throws: JWTError.wrongAudience(expected: Self.audience, found: nil)) {
            try JWT.verify(tokenNoAud, key: key.publicKey, expectedAudience: Self.audience, now: Self.now)
        }
        #expect(throws: JWTError.wrongType(expected: "refresh+jwt", found: "at+jwt")) {
            try JWT.verify(
                token, key: key.publicKey, expectedAudience: nil, expectedType: "refresh+jwt", now: Self.now)
        }
    }

    @Test func algorithmMismatch() throws {
        let k256 = PrivateKey.generate(.secp256k1)
        let p256 = PrivateKey.generate(.p256)
        // An ES256 token checked with a K-256 key.
        let es256 = try JWT.sign(claims: Self.claims(), typ: "JWT", key: p256)
        #expect(throws: JWTError.algorithmMismatch(expected: "ES256K", found: "ES256")) {
            try JWT.verify(es256, key: k256.publicKey, expectedAudience: nil, now: Self.now)
        }
        // A header claiming ES256 over a genuine K-256 signature.
        let header = #"{"alg":"ES256","typ":"JWT"}"#
        let payload = #"{"exp":\#(Self.nowSeconds + 60)}"#
        let input = Self.rawToken(header: header, payload: payload, signature: []).dropLast()
        let forged = Self.rawToken(header: header, payload: payload, signature: try k256.sign(Array(input.utf8)))
        #expect(throws: JWTError.algorithmMismatch(expected: "ES256K", found: "ES256")) {
            try JWT.verify(forged, key: k256.publicKey, expectedAudience: nil, now: Self.now)
        }
        // alg "none", with an empty signature, against every kind of key.
        let none = Self.rawToken(header: #"{"alg":"none","typ":"JWT"}"#, payload: payload, signature: [])
        for type in KeyType.allCases {
            #expect(throws: JWTError.algorithmMismatch(expected: type.jwtAlgorithm, found: "none")) {
                try JWT.verify(none, key: PrivateKey.generate(type).publicKey, expectedAudience: nil, now: Self.now)
            }
        }
        #expect(throws: JWTError.algorithmMismatch(expected: "HS256", found: "none")) {
            try JWT.verify(none, hmacSecret: Self.secret, expectedAudience: nil, now: Self.now)
        }
        // HS256 token against a public key, and an ES256K token against a secret.
        let hs = try JWT.sign(claims: Self.claims(), typ: "JWT", hmacSecret: Self.secret)
        #expect(throws: JWTError.algorithmMismatch(expected: "ES256K", found: "HS256")) {
            try JWT.verify(hs, key: k256.publicKey, expectedAudience: nil, now: Self.now)
        }
        let es256k = try JWT.sign(claims: Self.claims(), typ: "JWT", key: k256)
        #expect(throws: JWTError.algorithmMismatch(expected: "HS256", found: "ES256K")) {
            try JWT.verify(es256k, hmacSecret: Self.secret, expectedAudience: nil, now: Self.now)
        }
    }

    @Test(arguments: KeyType.allCases)
    func tamperedTokensFail(type: KeyType) throws {
        let key = PrivateKey.generate(type)
        let token = try JWT.sign(claims: Self.claims(), typ: "JWT", key: key)
        var parts = Self.segments(token)

        // A different, well-formed payload under the original signature.
        var other = Self.claims()
        other.sub = "did:plc:attacker"
        let otherToken = try JWT.sign(claims: other, typ: "JWT", key: PrivateKey.generate(type))
        parts[1] = Self.segments(otherToken)[1]
        #expect(throws: JWTError.badSignature) {
            try JWT.verify(parts.joined(separator: "."), key: key.publicKey, expectedAudience: nil, now: Self.now)
        }
        // A flipped signature byte.
        parts = Self.segments(token)
        var signature = try #require(Base64.decode(parts[2], alphabet: .url))
        signature[10] ^= 0x01
        parts[2] = Base64.encode(signature, alphabet: .url)
        #expect(throws: JWTError.badSignature) {
            try JWT.verify(parts.joined(separator: "."), key: key.publicKey, expectedAudience: nil, now: Self.now)
        }
        // Another key's signature.
        #expect(throws: JWTError.badSignature) {
            try JWT.verify(token, key: PrivateKey.generate(type).publicKey, expectedAudience: nil, now: Self.now)
        }
    }

    @Test(arguments: [KeyType.secp256k1, .p256])
    func highSAndDERSignaturesFail(type: KeyType) throws {
        let key = PrivateKey.generate(type)
        var parts = Self.segments(try JWT.sign(claims: Self.claims(), typ: "JWT", key: key))
        let signature = try #require(Base64.decode(parts[2], alphabet: .url))
        for bad in [TestSupport.flipS(signature, type), TestSupport.der(signature)] {
            parts[2] = Base64.encode(bad, alphabet: .url)
            #expect(throws: JWTError.badSignature) {
                try JWT.verify(parts.joined(separator: "."), key: key.publicKey, expectedAudience: nil, now: Self.now)
            }
        }
    }

    @Test func malformedTokens() throws {
        let key = PrivateKey.generate(.secp256k1)
        let token = try JWT.sign(claims: Self.claims(), typ: "JWT", key: key)
        let parts = Self.segments(token)
        let wrongCounts = ["", "abc", parts[0] + "." + parts[1], token + ".extra", token + "."]
        for bad in wrongCounts {
            let count = bad.split(separator: ".", omittingEmptySubsequences: false).count
            #expect(throws: JWTError.malformed("expected 3 dot-separated segments, found \(count)")) {
                try JWT.verify(bad, key: key.publicKey, expectedAudience: nil, now: Self.now)
            }
            #expect(throws: JWTError.self) { try JWT.decodeUnverified(bad) }
        }
        let others = [
            "!!." + parts[1] + "." + parts[2],  // header not base64url
            parts[0] + "=." + parts[1] + "." + parts[2],  // padding
            Self.rawToken(header: "[1]", payload: "{}", signature: [1]),  // header not an object
            Self.rawToken(header: #"{"typ":"JWT"}"#, payload: "{}", signature: [1]),  // no alg
            Self.rawToken(header: #"{"alg":"ES256K","crit":["b64"]}"#, payload: "{}", signature: [1]),
        ]
        for bad in others {
            #expect {
                try JWT.verify(bad, key: key.publicKey, expectedAudience: nil, now: Self.now)
            } throws: { error in
                guard case .malformed = error as? JWTError else { return false }
                return true
            }
        }
        // A payload that is not a claims object, correctly signed: malformed after the signature check.
        let header = #"{"alg":"ES256K"}"#
        let input = Self.rawToken(header: header, payload: #"{"exp":"soon"}"#, signature: []).dropLast()
        let signed = String(input) + "." + Base64.encode(try key.sign(Array(input.utf8)), alphabet: .url)
        #expect(throws: JWTError.malformed("payload is not valid JSON of the expected shape")) {
            try JWT.verify(signed, key: key.publicKey, expectedAudience: nil, now: Self.now)
        }
    }

    @Test func numericDatesMayBeFractional() throws {
        let header = #"{"alg":"HS256"}"#
        let payload = #"{"exp":\#(Self.nowSeconds + 60).75,"iat":\#(Self.nowSeconds).5}"#
        let token = Self.rawToken(header: header, payload: payload, signature: [])
        let claims = try JWT.decodeUnverified(String(token)).claims
        #expect(claims.exp == Self.nowSeconds + 60)
        #expect(claims.iat == Self.nowSeconds)
    }

    @Test func errorMessagesAreReadable() {
        #expect(JWTError.expired(exp: 1, now: 2).description == "JWT expired at 1 (now 2)")
        #expect(
            JWTError.algorithmMismatch(expected: "ES256K", found: "none").description
                == #"JWT algorithm "none" does not match the key (expected "ES256K")"#)
        #expect(JWTError.badSignature.localizedDescription == "JWT signature is invalid")
    }
}
