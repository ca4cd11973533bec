import ATCrypto
import Testing

/// Signing keys: generation, import/export, signing and verification rules.
@Suite struct KeyTests {
    static let message: [UInt8] = Array("hello atproto".utf8)

    @Test(arguments: KeyType.allCases)
    func signVerifyRoundTrip(type: KeyType) throws {
        let key = PrivateKey.generate(type)
        #expect(key.type == type)
        #expect(key.publicKey.type == type)
        #expect(key.publicKey.compressedBytes.count == type.compressedPublicKeyLength)
        let signature = try key.sign(Self.message)
        #expect(signature.count == 64)
        #expect(key.publicKey.verify(signature: signature, message: Self.message))
        // Another key does not verify it.
        #expect(!PrivateKey.generate(type).publicKey.verify(signature: signature, message: Self.message))
    }

    @Test(arguments: KeyType.allCases)
    func tamperedMessageOrSignatureFails(type: KeyType) throws {
        let key = PrivateKey.generate(type)
        let signature = try key.sign(Self.message)
        var message = Self.message
        message[0] ^= 0x01
        #expect(!key.publicKey.verify(signature: signature, message: message))
        #expect(!key.publicKey.verify(signature: signature, message: Self.message + [0]))
        for index in [0, 31, 32, 63] {
            var bad = signature
            bad[index] ^= 0x80
            #expect(!key.publicKey.verify(signature: bad, message: Self.message), "byte \(index)")
        }
        #expect(!key.publicKey.verify(signature: Array(signature.dropLast()), message: Self.message))
        #expect(!key.publicKey.verify(signature: signature + [0], message: Self.message))
        #expect(!key.publicKey.verify(signature: [UInt8](repeating: 0, count: 64), message: Self.message))
        #expect(!key.publicKey.verify(signature: [], message: Self.message))
    }

    @Test(arguments: [KeyType.secp256k1, .p256])
    func producedSignaturesAreAlwaysLowS(type: KeyType) throws {
        let key = PrivateKey.generate(type)
        var count = 0
        for i in 0..<500 {
            let message = Array("message \(i)".utf8)
            let signature = try key.sign(message)
            #expect(TestSupport.isLowS(signature, type), "signature \(i) is high-S")
            #expect(key.publicKey.verify(signature: signature, message: message))
            count += 1
        }
        print("\(type.rawValue): \(count) signatures, all low-S and verified")
        #expect(count == 500)
    }

    @Test(arguments: [KeyType.secp256k1, .p256])
    func highSIsRejected(type: KeyType) throws {
        let key = PrivateKey.generate(type)
        for i in 0..<20 {
            let message = Array("high-s \(i)".utf8)
            let signature = try key.sign(message)
            let highS = TestSupport.flipS(signature, type)
            #expect(!TestSupport.isLowS(highS, type))
            #expect(key.publicKey.verify(signature: signature, message: message))
            #expect(!key.publicKey.verify(signature: highS, message: message))
        }
    }

    @Test(arguments: [KeyType.secp256k1, .p256])
    func derSignatureIsRejected(type: KeyType) throws {
        let key = PrivateKey.generate(type)
        let signature = try key.sign(Self.message)
        let der = TestSupport.der(signature)
        #expect(der.count != 64)
        #expect(der[0] == 0x30)
        #expect(!key.publicKey.verify(signature: der, message: Self.message))
    }

    @Test func signaturesOverOrderAreRejected() throws {
        for type in [KeyType.secp256k1, .p256] {
            let key = PrivateKey.generate(type)
            let signature = try key.sign(Self.message)
            // r replaced by r + n would be ≥ n: use n itself as r, and s = 0.
            let rIsN = TestSupport.order(type) + Array(signature[32...])
            let sIsZero = Array(signature[..<32]) + [UInt8](repeating: 0, count: 32)
            #expect(!key.publicKey.verify(signature: rIsN, message: Self.message))
            #expect(!key.publicKey.verify(signature: sIsZero, message: Self.message))
        }
    }

    @Test(arguments: KeyType.allCases)
    func rawPrivateKeyRoundTrip(type: KeyType) throws {
        let key = PrivateKey.generate(type)
        let raw = key.rawRepresentation
        #expect(raw.count == 32)
        let imported = try PrivateKey(type: type, rawRepresentation: raw)
        #expect(imported.rawRepresentation == raw)
        #expect(imported.publicKey == key.publicKey)
        let signature = try imported.sign(Self.message)
        #expect(key.publicKey.verify(signature: signature, message: Self.message))
    }

    @Test func generatedKeysDiffer() {
        for type in KeyType.allCases {
            #expect(PrivateKey.generate(type).rawRepresentation != PrivateKey.generate(type).rawRepresentation)
        }
    }

    @Test func ecdsaSigningIsDeterministicForSecp256k1() throws {
        // libsecp256k1 uses RFC 6979 nonces.
        let key = PrivateKey.generate(.secp256k1)
        #expect(try key.sign(Self.message) == key.sign(Self.message))
    }

    @Test(arguments: [KeyType.secp256k1, .p256])
    func invalidECDSAPrivateKeysAreRejected(type: KeyType) throws {
        let n = TestSupport.order(type)
        let zero = [UInt8](repeating: 0, count: 32)
        var nPlusOne = n
        nPlusOne[31] += 1  // the last byte of either order is far from 0xff
        for bad in [zero, n, nPlusOne, [UInt8](repeating: 0xff, count: 32)] {
            #expect(throws: KeyError.invalidPrivateKey(type)) {
                try PrivateKey(type: type, rawRepresentation: bad)
            }
        }
        // n − 1 and 1 are the extreme valid scalars.
        let nMinusOne = TestSupport.subtract(n, [UInt8](repeating: 0, count: 31) + [1])
        _ = try PrivateKey(type: type, rawRepresentation: nMinusOne)
        _ = try PrivateKey(type: type, rawRepresentation: [UInt8](repeating: 0, count: 31) + [1])
    }

    @Test(arguments: KeyType.allCases)
    func wrongLengthPrivateKeysAreRejected(type: KeyType) {
        for length in [0, 16, 31, 33, 64] {
            #expect(throws: KeyError.invalidPrivateKeyLength(type, expected: 32, actual: length)) {
                try PrivateKey(type: type, rawRepresentation: [UInt8](repeating: 1, count: length))
            }
        }
        let error = KeyError.invalidPrivateKeyLength(type, expected: 32, actual: 31)
        #expect(error.description == "\(type.rawValue) private key must be 32 bytes, got 31")
    }

    @Test func privateKeyDescriptionDoesNotLeakSecret() {
        let key = PrivateKey.generate(.secp256k1)
        let hex = key.rawRepresentation.map { String($0, radix: 16) }.joined()
        for text in [key.description, String(describing: key), String(reflecting: key)] {
            #expect(text.contains(key.publicKey.didKey))
            #expect(!text.contains(hex))
        }
    }

    @Test func keyTypeMetadata() {
        #expect(KeyType.allCases.map(\.jwtAlgorithm) == ["ES256K", "ES256", "EdDSA"])
        #expect(KeyType.allCases.map(\.multicodec) == [0xe7, 0x1200, 0xed])
        #expect(KeyType.allCases.map(\.jwkCurve) == ["secp256k1", "P-256", "Ed25519"])
        for type in KeyType.allCases {
            #expect(KeyType(jwtAlgorithm: type.jwtAlgorithm) == type)
            #expect(KeyType(multicodec: type.multicodec) == type)
        }
        #expect(KeyType(jwtAlgorithm: "none") == nil)
        #expect(KeyType(jwtAlgorithm: "es256") == nil)
        #expect(KeyType(multicodec: 0xec) == nil)
    }
}
