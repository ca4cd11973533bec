import Crypto
import Foundation

/// A JSON Web Key as it travels (RFC 7517): the members this server reads.
/// Unknown members are ignored; `d` is read only to refuse private keys.
public struct JWKObject: Codable, Sendable, Equatable {
    public var kty: String?
    public var crv: String?
    public var x: String?
    public var y: String?
    public var d: String?
    public var kid: String?
    public var alg: String?
    public var use: String?

    public init(kty: String?, crv: String?, x: String?, y: String?, kid: String? = nil, alg: String? = nil, use: String? = nil) {
        self.kty = kty
        self.crv = crv
        self.x = x
        self.y = y
        self.kid = kid
        self.alg = alg
        self.use = use
    }
}

/// A P-256 public key from a JWK: the only kind of key DPoP proofs and
/// client assertions may be signed with here (ES256, as the atproto
/// profile requires).
public struct ECPublicJWK: Sendable, Equatable {
    /// The key's coordinates, 32 bytes each.
    public let x: [UInt8]
    public let y: [UInt8]
    public let kid: String?

    /// Reads a P-256 public key; a private key (`d`), another curve or a
    /// point not on the curve is refused. `checkingPoint: false` leaves
    /// the curve check to ``verify(signature:message:)`` (a DPoP proof's
    /// key is used once, to verify it).
    public init(_ jwk: JWKObject, checkingPoint: Bool = true) throws(OAuthError) {
        guard jwk.kty == "EC", jwk.crv == "P-256" else { throw .invalidRequest("the key must be an EC P-256 JWK (ES256)") }
        guard jwk.d == nil else { throw .invalidRequest("the JWK must be a public key: it holds a private key (d)") }
        guard let x = jwk.x.flatMap(Base64URL.decode), let y = jwk.y.flatMap(Base64URL.decode), x.count == 32, y.count == 32 else {
            throw .invalidRequest("the JWK's x and y must be 32-byte base64url coordinates")
        }
        guard !checkingPoint || (try? P256.Signing.PublicKey(rawRepresentation: x + y)) != nil else {
            throw .invalidRequest("the JWK's point is not on the P-256 curve")
        }
        self.x = x
        self.y = y
        self.kid = jwk.kid
    }

    public static func == (a: ECPublicJWK, b: ECPublicJWK) -> Bool { a.x == b.x && a.y == b.y }

    /// The RFC 7638 thumbprint: base64url(SHA-256) of the required members
    /// in lexicographic order, without whitespace. DPoP binds tokens to it
    /// (`cnf.jkt`, `dpop_jkt`).
    public var thumbprint: String {
        let canonical = "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"\(Base64URL.encode(x))\",\"y\":\"\(Base64URL.encode(y))\"}"
        return Base64URL.sha256(canonical)
    }

    /// Whether `signature` (64-byte `r‖s`) is this key's ES256 signature of
    /// `message`. High-S signatures are accepted: JOSE libraries produce
    /// both, and ES256 (unlike atproto's repository signatures) does not
    /// require low-S.
    public func verify(signature: [UInt8], message: [UInt8]) -> Bool {
        // Rebuilt per check (swift-crypto's key type is not `Sendable`);
        // parsing a point is a small share of an ECDSA verification.
        guard signature.count == 64, let parsed = try? P256.Signing.ECDSASignature(rawRepresentation: signature),
            let key = try? P256.Signing.PublicKey(rawRepresentation: x + y)
        else { return false }
        return key.isValidSignature(parsed, for: SHA256.hash(data: message))
    }
}
