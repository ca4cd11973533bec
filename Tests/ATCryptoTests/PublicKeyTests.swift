import ATCrypto
import ATProto
import Testing

/// Public-key encodings: did:key, Multikey, legacy multibase, and parse errors.
@Suite struct PublicKeyTests {
    @Test(arguments: KeyType.allCases)
    func didKeyAndMultikeyRoundTrip(type: KeyType) throws {
        let key = PrivateKey.generate(type).publicKey
        #expect(key.didKey == "did:key:" + key.multikey)
        #expect(key.multikey.hasPrefix("z"))
        #expect(try PublicKey(didKey: key.didKey) == key)
        #expect(try PublicKey(multikey: key.multikey) == key)
        #expect(try PublicKey(verificationMethodType: "Multikey", publicKeyMultibase: key.multikey) == key)
        #expect(try PublicKey(type: type, bytes: key.compressedBytes) == key)
        #expect(key.description == key.didKey)
    }

    @Test func didKeyPrefixesMatchAtproto() {
        // Well-known leading characters of compressed did:keys.
        #expect(PrivateKey.generate(.secp256k1).publicKey.didKey.hasPrefix("did:key:zQ3s"))
        #expect(PrivateKey.generate(.p256).publicKey.didKey.hasPrefix("did:key:zDna"))
        #expect(PrivateKey.generate(.ed25519).publicKey.didKey.hasPrefix("did:key:z6Mk"))
    }

    @Test(arguments: [KeyType.secp256k1, .p256])
    func uncompressedKeysAreAcceptedForReading(type: KeyType) throws {
        let key = PrivateKey.generate(type).publicKey
        let uncompressed = try #require(key.uncompressedBytes)
        #expect(uncompressed.count == 65)
        #expect(uncompressed[0] == 0x04)
        #expect(Array(uncompressed[1..<33]) == Array(key.compressedBytes[1...]))
        #expect(try PublicKey(type: type, bytes: uncompressed) == key)
        let didKey = "did:key:" + TestSupport.multikey(code: type.multicodec, uncompressed)
        let parsed = try PublicKey(didKey: didKey)
        #expect(parsed == key)
        #expect(parsed.didKey == key.didKey)  // written back compressed
    }

    @Test func legacyMultibaseNeedsTheSuite() throws {
        let key = PrivateKey.generate(.p256).publicKey
        let legacy = Multibase.encode(key.compressedBytes, base: .base58btc)
        #expect(try PublicKey(legacyMultibase: legacy, type: .p256) == key)
        #expect(
            try PublicKey(verificationMethodType: "EcdsaSecp256r1VerificationKey2019", publicKeyMultibase: legacy)
                == key)
        #expect(throws: PublicKeyError.unsupportedVerificationMethod("JsonWebKey2020")) {
            try PublicKey(verificationMethodType: "JsonWebKey2020", publicKeyMultibase: legacy)
        }
    }

    @Test func wrongPrefixIsRejected() {
        #expect(throws: PublicKeyError.notDidKey("did:web:example.com")) {
            try PublicKey(didKey: "did:web:example.com")
        }
        #expect(throws: PublicKeyError.notDidKey("DID:KEY:zQ3s")) { try PublicKey(didKey: "DID:KEY:zQ3s") }
        #expect(throws: PublicKeyError.notBase58btc("bafkreiabc")) { try PublicKey(didKey: "did:key:bafkreiabc") }
        #expect(throws: PublicKeyError.notBase58btc("")) { try PublicKey(multikey: "") }
    }

    @Test func badBase58IsRejected() {
        // 0, O, I and l are not in the base58btc alphabet.
        #expect(throws: PublicKeyError.invalidBase58("zQ3s0OIl")) { try PublicKey(didKey: "did:key:zQ3s0OIl") }
        #expect(throws: PublicKeyError.invalidBase58("zQ3s é")) { try PublicKey(multikey: "zQ3s é") }
    }

    @Test func unknownMulticodecIsRejected() {
        // 0xec is x25519-pub, an encryption key; 0x1201 is p384-pub.
        for code: UInt64 in [0xec, 0x1201, 0x00] {
            let multikey = TestSupport.multikey(code: code, [UInt8](repeating: 2, count: 33))
            #expect(throws: PublicKeyError.unsupportedMulticodec(code)) { try PublicKey(multikey: multikey) }
        }
        #expect(throws: PublicKeyError.invalidMulticodec) { try PublicKey(multikey: "z") }
        let truncated = Multibase.encode([0x80], base: .base58btc)
        #expect(throws: PublicKeyError.invalidMulticodec) { try PublicKey(multikey: truncated) }
    }

    @Test func wrongLengthIsRejected() {
        let cases: [(KeyType, Int)] = [(.secp256k1, 32), (.secp256k1, 34), (.p256, 0), (.p256, 64), (.ed25519, 33)]
        for (type, length) in cases {
            let body = [UInt8](repeating: 0x02, count: length)
            #expect(throws: PublicKeyError.invalidKeyLength(type, actual: length)) {
                try PublicKey(didKey: "did:key:" + TestSupport.multikey(code: type.multicodec, body))
            }
        }
        // A 33-byte ECDSA key with an uncompressed prefix, or hybrid 65-byte.
        #expect(throws: PublicKeyError.invalidKeyLength(.secp256k1, actual: 33)) {
            try PublicKey(type: .secp256k1, bytes: [0x04] + [UInt8](repeating: 1, count: 32))
        }
        #expect(throws: PublicKeyError.invalidKeyLength(.p256, actual: 65)) {
            try PublicKey(type: .p256, bytes: [0x06] + [UInt8](repeating: 1, count: 64))
        }
        let message = PublicKeyError.invalidKeyLength(.secp256k1, actual: 32).description
        #expect(message == "secp256k1 public key must be 33 (compressed) or 65 (uncompressed) bytes, got 32")
    }

    @Test func offCurvePointIsRejected() {
        // x = 2^256 − 1 is not below the field prime of either curve.
        let x = [UInt8](repeating: 0xff, count: 32)
        for type in [KeyType.secp256k1, .p256] {
            #expect(throws: PublicKeyError.invalidPoint(type)) {
                try PublicKey(didKey: "did:key:" + TestSupport.multikey(code: type.multicodec, [0x02] + x))
            }
        }
    }

    @Test func errorMessagesAreReadable() {
        let errors: [PublicKeyError] = [
            .notDidKey("did:web:x"), .notBase58btc("m..."), .invalidBase58("z0"), .invalidMulticodec,
            .unsupportedMulticodec(0xec), .invalidKeyLength(.ed25519, actual: 3), .invalidPoint(.p256),
            .unsupportedVerificationMethod("X"),
        ]
        for error in errors {
            #expect(!error.description.isEmpty)
            #expect(error.localizedDescription == error.description)
        }
        #expect(PublicKeyError.unsupportedMulticodec(0xec).description.contains("0xec"))
    }
}
