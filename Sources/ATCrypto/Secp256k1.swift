import CSecp256k1

/// secp256k1 operations through libsecp256k1, using the shared context.
///
/// Inputs are checked for length here, so callers cannot hand the C library a
/// short buffer. Signing uses RFC 6979 deterministic nonces and always yields
/// low-S signatures; verification rejects high-S ones.
enum Secp256k1 {
    private static var context: OpaquePointer { Secp256k1Context.shared.pointer }

    /// Whether `key` is a valid secret key: 32 bytes, non-zero, below the order.
    static func isValidPrivateKey(_ key: [UInt8]) -> Bool {
        key.count == 32 && secp256k1_ec_seckey_verify(context, key) == 1
    }

    /// The 33-byte compressed public key of a valid secret key.
    static func publicKey(privateKey: [UInt8]) -> [UInt8]? {
        guard privateKey.count == 32 else { return nil }
        var pubkey = secp256k1_pubkey()
        guard secp256k1_ec_pubkey_create(context, &pubkey, privateKey) == 1 else { return nil }
        return serializeCompressed(&pubkey)
    }

    /// Parses a SEC1 public key, compressed (33 bytes, `02`/`03`) or
    /// uncompressed (65 bytes, `04`; hybrid `06`/`07` keys are refused), and
    /// returns its 33-byte compressed form; nil when the point is invalid.
    static func compress(_ bytes: [UInt8]) -> [UInt8]? {
        guard var pubkey = parse(bytes) else { return nil }
        return serializeCompressed(&pubkey)
    }

    /// The 65-byte uncompressed form (`04‖x‖y`) of a SEC1 public key.
    static func uncompress(_ bytes: [UInt8]) -> [UInt8]? {
        guard var pubkey = parse(bytes) else { return nil }
        var out = [UInt8](repeating: 0, count: 65)
        var length = out.count
        guard secp256k1_ec_pubkey_serialize(context, &out, &length, &pubkey, UInt32(SECP256K1_EC_UNCOMPRESSED)) == 1,
              length == 65
        else { return nil }
        return out
    }

    /// A 64-byte compact low-S signature of a 32-byte digest.
    static func sign(digest: [UInt8], privateKey: [UInt8]) -> [UInt8]? {
        guard digest.count == 32, privateKey.count == 32 else { return nil }
        var signature = secp256k1_ecdsa_signature()
        guard secp256k1_ecdsa_sign(context, &signature, digest, privateKey, nil, nil) == 1 else { return nil }
        var out = [UInt8](repeating: 0, count: 64)
        guard secp256k1_ecdsa_signature_serialize_compact(context, &out, &signature) == 1 else { return nil }
        return out
    }

    /// Verifies a 64-byte compact signature of a 32-byte digest; high-S,
    /// out-of-range and wrongly sized signatures are rejected.
    static func verify(signature: [UInt8], digest: [UInt8], publicKey: [UInt8]) -> Bool {
        guard signature.count == 64, digest.count == 32, var pubkey = parse(publicKey) else { return false }
        var parsed = secp256k1_ecdsa_signature()
        // Fails when r or s is not below the group order.
        guard secp256k1_ecdsa_signature_parse_compact(context, &parsed, signature) == 1 else { return false }
        // Returns 1 when the signature was not in low-S form.
        if secp256k1_ecdsa_signature_normalize(context, nil, &parsed) == 1 { return false }
        return secp256k1_ecdsa_verify(context, &parsed, digest, &pubkey) == 1
    }

    private static func parse(_ bytes: [UInt8]) -> secp256k1_pubkey? {
        let wellFormed = (bytes.count == 33 && (bytes[0] == 0x02 || bytes[0] == 0x03))
            || (bytes.count == 65 && bytes[0] == 0x04)
        guard wellFormed else { return nil }
        var pubkey = secp256k1_pubkey()
        guard secp256k1_ec_pubkey_parse(context, &pubkey, bytes, bytes.count) == 1 else { return nil }
        return pubkey
    }

    private static func serializeCompressed(_ pubkey: inout secp256k1_pubkey) -> [UInt8]? {
        var out = [UInt8](repeating: 0, count: 33)
        var length = out.count
        guard secp256k1_ec_pubkey_serialize(context, &out, &length, &pubkey, UInt32(SECP256K1_EC_COMPRESSED)) == 1,
              length == 33
        else { return nil }
        return out
    }
}
