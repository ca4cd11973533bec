import Foundation

/// Errors raised when importing, generating or using a private key.
public enum KeyError: Error, Equatable, Sendable, CustomStringConvertible, LocalizedError {
    /// The raw private key does not have the required length.
    case invalidPrivateKeyLength(KeyType, expected: Int, actual: Int)
    /// The raw private key is not a valid scalar for the curve (zero, or not
    /// below the group order).
    case invalidPrivateKey(KeyType)
    /// The underlying library failed to produce a signature.
    case signingFailed(KeyType)

    public var description: String {
        switch self {
        case .invalidPrivateKeyLength(let type, let expected, let actual):
            return "\(type.rawValue) private key must be \(expected) bytes, got \(actual)"
        case .invalidPrivateKey(let type):
            return "\(type.rawValue) private key is out of range (zero, or not below the curve order)"
        case .signingFailed(let type):
            return "\(type.rawValue) signing failed"
        }
    }

    public var errorDescription: String? { description }
}

/// Errors raised when reading a public key from bytes, a `did:key`, a Multikey
/// or a legacy `publicKeyMultibase` value.
public enum PublicKeyError: Error, Equatable, Sendable, CustomStringConvertible, LocalizedError {
    /// The string does not start with `did:key:`.
    case notDidKey(String)
    /// The multibase value does not start with `z` (base58btc).
    case notBase58btc(String)
    /// The multibase body has characters outside the base58btc alphabet.
    case invalidBase58(String)
    /// The multicodec varint in front of the key is truncated or malformed.
    case invalidMulticodec
    /// The multicodec is well formed but is not a supported public-key type.
    case unsupportedMulticodec(UInt64)
    /// The key bytes have the wrong length (or SEC1 prefix) for the key type.
    case invalidKeyLength(KeyType, actual: Int)
    /// The key bytes have the right length but are not a point on the curve.
    case invalidPoint(KeyType)
    /// A DID-document verification method type this library does not read.
    case unsupportedVerificationMethod(String)

    public var description: String {
        switch self {
        case .notDidKey(let s):
            return "not a did:key (must start with \"did:key:\"): \(s.prefix(64))"
        case .notBase58btc(let s):
            return "multibase key must start with 'z' (base58btc): \(s.prefix(64))"
        case .invalidBase58(let s):
            return "multibase key has characters outside the base58btc alphabet: \(s.prefix(64))"
        case .invalidMulticodec:
            return "multibase key has a truncated or malformed multicodec prefix"
        case .unsupportedMulticodec(let code):
            return "unsupported public key multicodec 0x\(String(code, radix: 16)) (expected 0xe7 secp256k1, 0x1200 P-256 or 0xed Ed25519)"
        case .invalidKeyLength(let type, let actual):
            let expected = type == .ed25519 ? "32" : "33 (compressed) or 65 (uncompressed)"
            return "\(type.rawValue) public key must be \(expected) bytes, got \(actual)"
        case .invalidPoint(let type):
            return "\(type.rawValue) public key is not a valid point on the curve"
        case .unsupportedVerificationMethod(let type):
            return "unsupported verification method type \"\(type)\""
        }
    }

    public var errorDescription: String? { description }
}
