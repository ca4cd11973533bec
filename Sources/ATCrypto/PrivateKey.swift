import Crypto

/// A private signing key of one of the supported `KeyType`s.
///
/// Keys are imported from and exported as 32 raw bytes: the big-endian scalar
/// for secp256k1 and P-256 (validated to be non-zero and below the group
/// order), the RFC 8032 seed for Ed25519. `sign` returns a 64-byte signature:
/// compact low-S `r‖s` over SHA-256 of the message for the ECDSA curves, a
/// plain Ed25519 signature of the message otherwise.
///
/// The value is immutable and `Sendable`. Its `description` shows only the
/// public key, so logging a key does not leak it.
public struct PrivateKey: Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// The key's algorithm.
    public let type: KeyType
    /// The matching public key, derived once at import.
    public let publicKey: PublicKey
    private let secret: [UInt8]

    /// Imports a raw private key (32 bytes for every type).
    /// - Throws: `KeyError.invalidPrivateKeyLength` for a wrong length,
    ///   `KeyError.invalidPrivateKey` for an ECDSA scalar that is zero or not
    ///   below the group order.
    public init(type: KeyType, rawRepresentation bytes: [UInt8]) throws(KeyError) {
        guard bytes.count == type.privateKeyLength else {
            throw .invalidPrivateKeyLength(type, expected: type.privateKeyLength, actual: bytes.count)
        }
        let publicBytes: [UInt8]
        switch type {
        case .secp256k1:
            guard Secp256k1.isValidPrivateKey(bytes), let derived = Secp256k1.publicKey(privateKey: bytes) else {
                throw .invalidPrivateKey(type)
            }
            publicBytes = derived
        case .p256:
            guard P256Order.isValidScalar(bytes),
                  let key = try? P256.Signing.PrivateKey(rawRepresentation: bytes)
            else { throw .invalidPrivateKey(type) }
            publicBytes = Array(key.publicKey.compressedRepresentation)
        case .ed25519:
            guard let key = try? Curve25519.Signing.PrivateKey(rawRepresentation: bytes) else {
                throw .invalidPrivateKey(type)
            }
            publicBytes = Array(key.publicKey.rawRepresentation)
        }
        self.type = type
        self.secret = bytes
        self.publicKey = PublicKey(type: type, validatedCompressed: publicBytes)
    }

    /// A new random key from the system's secure random number generator.
    public static func generate(_ type: KeyType) -> PrivateKey {
        // Rejection sampling: uniform over the valid keys. Out-of-range
        // candidates have probability below 2^-32 for either curve.
        while true {
            if let key = try? PrivateKey(type: type, rawRepresentation: SecureRandom.bytes(type.privateKeyLength)) {
                return key
            }
        }
    }

    /// The raw 32-byte private key, for storage. Treat it as a secret.
    public var rawRepresentation: [UInt8] { secret }

    /// Signs `message` and returns the 64-byte signature (low-S `r‖s` over
    /// SHA-256 of the message for ECDSA; Ed25519 over the message itself).
    /// - Throws: `KeyError.signingFailed` if the underlying library fails.
    public func sign(_ message: [UInt8]) throws(KeyError) -> [UInt8] {
        switch type {
        case .secp256k1:
            let digest = Array(SHA256.hash(data: message))
            guard let signature = Secp256k1.sign(digest: digest, privateKey: secret) else {
                throw .signingFailed(type)
            }
            return signature
        case .p256:
            guard let key = try? P256.Signing.PrivateKey(rawRepresentation: secret),
                  let signature = try? key.signature(for: message)
            else { throw .signingFailed(type) }
            var raw = Array(signature.rawRepresentation)
            guard raw.count == 64 else { throw .signingFailed(type) }
            if !P256Order.isLowS(raw[32...]) {
                raw.replaceSubrange(32..<64, with: P256Order.negate(raw[32...]))
            }
            return raw
        case .ed25519:
            guard let key = try? Curve25519.Signing.PrivateKey(rawRepresentation: secret),
                  let signature = try? key.signature(for: message)
            else { throw .signingFailed(type) }
            return Array(signature)
        }
    }

    public var description: String { "PrivateKey(\(type.rawValue), public: \(publicKey.didKey))" }
    public var debugDescription: String { description }
    public var customMirror: Mirror {
        Mirror(self, children: ["type": type, "publicKey": publicKey], displayStyle: .struct)
    }
}
