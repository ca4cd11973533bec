import Crypto

/// A public key of one of the supported `KeyType`s, held in compressed form.
///
/// `compressedBytes` is the 33-byte SEC1 compressed point for secp256k1 and
/// P-256, or the 32-byte Ed25519 key. Construction checks that an ECDSA key
/// is a point on its curve (for Ed25519 only the length is checked; a bad
/// encoding just never verifies). Uncompressed ECDSA keys are accepted on
/// input and stored compressed. String forms (`did:key`, Multikey) are in
/// `PublicKey+DidKey.swift`.
public struct PublicKey: Sendable, Hashable, CustomStringConvertible {
    /// The key's algorithm.
    public let type: KeyType
    /// The compressed key bytes (33 bytes for ECDSA curves, 32 for Ed25519).
    public let compressedBytes: [UInt8]

    /// A key known to be valid and compressed (derived from a private key).
    init(type: KeyType, validatedCompressed bytes: [UInt8]) {
        self.type = type
        self.compressedBytes = bytes
    }

    /// Reads a public key from its bytes: for secp256k1 and P-256 a SEC1 point,
    /// compressed (33 bytes, `02`/`03`) or uncompressed (65 bytes, `04`); for
    /// Ed25519 the 32-byte key.
    /// - Throws: `PublicKeyError.invalidKeyLength` for a wrong size or SEC1
    ///   prefix, `PublicKeyError.invalidPoint` for an ECDSA point not on the
    ///   curve.
    public init(type: KeyType, bytes: [UInt8]) throws(PublicKeyError) {
        switch type {
        case .secp256k1, .p256:
            let compressed = bytes.count == 33 && (bytes[0] == 0x02 || bytes[0] == 0x03)
            let uncompressed = bytes.count == 65 && bytes[0] == 0x04
            guard compressed || uncompressed else { throw .invalidKeyLength(type, actual: bytes.count) }
            if type == .secp256k1 {
                guard let point = Secp256k1.compress(bytes) else { throw .invalidPoint(type) }
                self.init(type: type, validatedCompressed: point)
            } else {
                let key = compressed
                    ? try? P256.Signing.PublicKey(compressedRepresentation: bytes)
                    : try? P256.Signing.PublicKey(x963Representation: bytes)
                guard let key else { throw .invalidPoint(type) }
                self.init(type: type, validatedCompressed: Array(key.compressedRepresentation))
            }
        case .ed25519:
            guard bytes.count == 32 else { throw .invalidKeyLength(type, actual: bytes.count) }
            guard (try? Curve25519.Signing.PublicKey(rawRepresentation: bytes)) != nil else {
                throw .invalidPoint(type)
            }
            self.init(type: type, validatedCompressed: bytes)
        }
    }

    /// The 65-byte uncompressed SEC1 point (`04‖x‖y`) of an ECDSA key, e.g.
    /// for the `x`/`y` members of a JWK; nil for Ed25519, which has one form.
    public var uncompressedBytes: [UInt8]? {
        switch type {
        case .secp256k1:
            return Secp256k1.uncompress(compressedBytes)
        case .p256:
            return (try? P256.Signing.PublicKey(compressedRepresentation: compressedBytes)).map {
                Array($0.x963Representation)
            }
        case .ed25519:
            return nil
        }
    }

    /// Whether `signature` is a valid signature of `message` by this key.
    ///
    /// For secp256k1 and P-256 the signature must be exactly 64 bytes of
    /// compact `r‖s` in low-S form over SHA-256 of the message; DER, high-S and
    /// out-of-range signatures are rejected. For Ed25519 it must be a 64-byte
    /// RFC 8032 signature of the message.
    public func verify(signature: [UInt8], message: [UInt8]) -> Bool {
        guard signature.count == type.signatureLength else { return false }
        switch type {
        case .secp256k1:
            let digest = Array(SHA256.hash(data: message))
            return Secp256k1.verify(signature: signature, digest: digest, publicKey: compressedBytes)
        case .p256:
            guard P256Order.isLowS(signature[32...]),
                  let key = try? P256.Signing.PublicKey(compressedRepresentation: compressedBytes),
                  let parsed = try? P256.Signing.ECDSASignature(rawRepresentation: signature)
            else { return false }
            return key.isValidSignature(parsed, for: message)
        case .ed25519:
            guard let key = try? Curve25519.Signing.PublicKey(rawRepresentation: compressedBytes) else {
                return false
            }
            return key.isValidSignature(signature, for: message)
        }
    }

    /// The `did:key` form of the key.
    public var description: String { didKey }
}
