import ATCrypto
import ATProto
import TestSupport
import Testing

/// The interop vectors in `Tests/Fixtures/interop/crypto`.
@Suite struct CryptoFixtureTests {
    /// A required string field of a fixture case.
    static func string(_ c: [String: Any], _ key: String) throws -> String {
        try #require(c[key] as? String, "missing \(key)")
    }

    /// A required standard-base64 (unpadded) field of a fixture case.
    static func base64(_ c: [String: Any], _ key: String) throws -> [UInt8] {
        let text = try string(c, key)
        return try #require(Base64.decode(text), "bad base64 in \(key)")
    }

    @Test func signatureFixtures() throws {
        let cases = try #require(Fixtures.json("interop/crypto/signature-fixtures.json") as? [[String: Any]])
        var valid = 0
        var invalid = 0
        for c in cases {
            let comment = try Self.string(c, "comment")
            let message = try Self.base64(c, "messageBase64")
            let signature = try Self.base64(c, "signatureBase64")
            let isValid = try #require(c["validSignature"] as? Bool)
            let tags = try #require(c["tags"] as? [String])

            let fromDid = try PublicKey(didKey: Self.string(c, "publicKeyDid"))
            let fromMultibase = try PublicKey(
                verificationMethodType: Self.string(c, "didDocSuite"),
                publicKeyMultibase: Self.string(c, "publicKeyMultibase"))
            #expect(fromDid == fromMultibase, "\(comment)")
            #expect(fromDid.type == KeyType(jwtAlgorithm: try Self.string(c, "algorithm")), "\(comment)")
            // The Multikey form of the key round-trips too.
            #expect(try PublicKey(multikey: fromDid.multikey) == fromDid)

            for key in [fromDid, fromMultibase] {
                #expect(key.verify(signature: signature, message: message) == isValid, "\(comment)")
            }
            if isValid {
                valid += 1
                #expect(tags.isEmpty)
            } else {
                invalid += 1
                #expect(tags.allSatisfy { ["high-s", "der-encoded"].contains($0) }, "\(comment)")
                if tags.contains("high-s") {
                    // The same signature with low S is the valid one.
                    let lowS = TestSupport.flipS(signature, fromDid.type)
                    #expect(fromDid.verify(signature: lowS, message: message), "\(comment)")
                }
            }
        }
        print("signature-fixtures.json: \(cases.count) cases, \(valid) valid verified, \(invalid) invalid rejected")
        #expect(cases.count == 6)
        #expect(valid == 2)
        #expect(invalid == 4)
    }

    @Test func didKeyK256() throws {
        let cases = try #require(Fixtures.json("interop/crypto/w3c_didkey_K256.json") as? [[String: Any]])
        for c in cases {
            let raw = TestSupport.hex(try Self.string(c, "privateKeyBytesHex"))
            let expected = try Self.string(c, "publicDidKey")
            let key = try PrivateKey(type: .secp256k1, rawRepresentation: raw)
            #expect(key.publicKey.didKey == expected)
            #expect(try PublicKey(didKey: expected) == key.publicKey)
        }
        print("w3c_didkey_K256.json: \(cases.count) did:keys reproduced and parsed")
        #expect(cases.count == 5)
    }

    @Test func didKeyP256() throws {
        let cases = try #require(Fixtures.json("interop/crypto/w3c_didkey_P256.json") as? [[String: Any]])
        for c in cases {
            let encoded = try Self.string(c, "privateKeyBytesBase58")
            let raw = try #require(Base58.decode(encoded))
            let expected = try Self.string(c, "publicDidKey")
            let key = try PrivateKey(type: .p256, rawRepresentation: raw)
            #expect(key.publicKey.didKey == expected)
            #expect(try PublicKey(didKey: expected) == key.publicKey)
        }
        print("w3c_didkey_P256.json: \(cases.count) did:key reproduced and parsed")
        #expect(cases.count == 1)
    }
}
