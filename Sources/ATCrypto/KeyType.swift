/// The signature algorithms (curves) this server signs and verifies with.
///
/// atproto repositories and service-auth tokens use `secp256k1` (JWT `ES256K`)
/// or `p256` (NIST P-256, JWT `ES256`); `ed25519` (JWT `EdDSA`) is available for
/// private deployments and the server's own session tokens. The ECDSA curves
/// sign the SHA-256 of the message and produce 64-byte compact `r‖s`
/// signatures in low-S form; Ed25519 signs the message itself (RFC 8032).
public enum KeyType: String, CaseIterable, Sendable, Hashable, Codable {
    /// secp256k1 ECDSA ("K-256"), JWT `ES256K`, multicodec `secp256k1-pub` (0xe7).
    case secp256k1
    /// NIST P-256 ECDSA ("secp256r1"), JWT `ES256`, multicodec `p256-pub` (0x1200).
    case p256
    /// Ed25519 EdDSA, JWT `EdDSA`, multicodec `ed25519-pub` (0xed).
    case ed25519

    /// The JWS `alg` header value for signatures made with this key type.
    public var jwtAlgorithm: String {
        switch self {
        case .secp256k1: return "ES256K"
        case .p256: return "ES256"
        case .ed25519: return "EdDSA"
        }
    }

    /// The key type whose JWS `alg` is `name` (case-sensitive), or nil.
    public init?(jwtAlgorithm name: String) {
        guard let match = KeyType.allCases.first(where: { $0.jwtAlgorithm == name }) else { return nil }
        self = match
    }

    /// The multicodec code of this type's public key, written as a varint in
    /// front of the key bytes in `did:key` and Multikey strings.
    public var multicodec: UInt64 {
        switch self {
        case .secp256k1: return 0xe7
        case .p256: return 0x1200
        case .ed25519: return 0xed
        }
    }

    /// The key type whose public-key multicodec is `code`, or nil.
    public init?(multicodec code: UInt64) {
        guard let match = KeyType.allCases.first(where: { $0.multicodec == code }) else { return nil }
        self = match
    }

    /// The JWK curve name (`crv`) of this key type: `secp256k1`, `P-256` or
    /// `Ed25519`, as used by `did:key` documents and JWKs.
    public var jwkCurve: String {
        switch self {
        case .secp256k1: return "secp256k1"
        case .p256: return "P-256"
        case .ed25519: return "Ed25519"
        }
    }

    /// The legacy DID-document verification-method `type` whose
    /// `publicKeyMultibase` holds the bare key without a multicodec prefix,
    /// or nil for Ed25519 (which atproto never used in that form).
    public var legacyVerificationMethodType: String? {
        switch self {
        case .secp256k1: return "EcdsaSecp256k1VerificationKey2019"
        case .p256: return "EcdsaSecp256r1VerificationKey2019"
        case .ed25519: return nil
        }
    }

    /// The length of a raw private key: always 32 bytes (an ECDSA scalar or an
    /// Ed25519 seed).
    public var privateKeyLength: Int { 32 }

    /// The length of a compressed public key: 33 bytes for the ECDSA curves
    /// (SEC1 `02`/`03` prefix and x), 32 bytes for Ed25519.
    public var compressedPublicKeyLength: Int {
        switch self {
        case .secp256k1, .p256: return 33
        case .ed25519: return 32
        }
    }

    /// The length of a signature: 64 bytes for every type (`r‖s` or Ed25519).
    public var signatureLength: Int { 64 }

    /// Whether this is one of the ECDSA curves (SHA-256 digest, low-S rule).
    public var isECDSA: Bool { self != .ed25519 }
}
