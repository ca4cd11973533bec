import Crypto
import Foundation
import Testing

@testable import OAuth

@Suite("DPoP proofs")
struct DPoPVerifierTests {
    let verifier = DPoPVerifier(nonces: DPoPNonces(secret: Array(repeating: 7, count: 32)))
    let key = DPoPTestKey()
    let url = "https://pds.example/oauth/token"
    var nonce: String { verifier.nonces.current() }

    func refusal(_ proof: String?, method: String = "POST", url: String? = nil, token: String? = nil) -> OAuthError? {
        do {
            _ = try verifier.verify(proof, method: method, url: url ?? self.url, accessToken: token)
            return nil
        } catch {
            return error
        }
    }

    @Test func aGoodProofGivesItsKeysThumbprint() throws {
        let checked = try verifier.verify(key.proof(nonce: nonce), method: "POST", url: url)
        #expect(checked.jkt == key.thumbprint)
        // The key of RFC 9449's examples and the `jkt` the RFC gives for it (§6.1).
        let example = try ECPublicJWK(
            JWKObject(kty: "EC", crv: "P-256", x: "l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs", y: "9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA"))
        #expect(example.thumbprint == "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I")
    }

    @Test func theQueryAndFragmentOfTheURLAreIgnoredAndTheDefaultPortToo() throws {
        _ = try verifier.verify(key.proof(htu: "https://PDS.example:443/oauth/token?x=1", nonce: nonce), method: "POST", url: url + "#f")
    }

    @Test func aProofForAnotherMethodOrURLIsRefused() {
        #expect(refusal(key.proof(htm: "GET", nonce: nonce))?.code == "invalid_dpop_proof")
        #expect(refusal(key.proof(htu: "https://pds.example/oauth/par", nonce: nonce))?.code == "invalid_dpop_proof")
        #expect(refusal(key.proof(htu: "https://other.example/oauth/token", nonce: nonce))?.code == "invalid_dpop_proof")
    }

    @Test func withoutANonceOrWithAStaleOneTheClientIsToldToUseTheCurrentOne() {
        #expect(refusal(key.proof(nonce: nil))?.code == "use_dpop_nonce")
        #expect(refusal(key.proof(nonce: "made-up"))?.code == "use_dpop_nonce")
        let old = verifier.nonces.current(now: Date().addingTimeInterval(-3 * 180))
        #expect(refusal(key.proof(nonce: old))?.code == "use_dpop_nonce")
    }

    @Test func theNonceRotatesAndThePreviousOneIsStillAccepted() {
        let nonces = verifier.nonces
        let start = Date(timeIntervalSince1970: 1_800_000_000)
        let first = nonces.current(now: start)
        let next = nonces.current(now: start.addingTimeInterval(180))
        #expect(first != next)
        #expect(nonces.accepts(first, now: start.addingTimeInterval(180)))
        #expect(!nonces.accepts(first, now: start.addingTimeInterval(2 * 180 + 1)))
        // Another secret (another server) issues other nonces.
        #expect(DPoPNonces(secret: Array(repeating: 8, count: 32)).current(now: start) != first)
    }

    @Test func oldAndFutureProofsAreRefused() {
        #expect(refusal(key.proof(iat: Date().addingTimeInterval(-120), nonce: nonce))?.code == "invalid_dpop_proof")
        #expect(refusal(key.proof(iat: Date().addingTimeInterval(60), nonce: nonce))?.code == "invalid_dpop_proof")
    }

    @Test func aJTIIsAcceptedOnce() throws {
        let proof = key.proof(jti: "one", nonce: nonce)
        _ = try verifier.verify(proof, method: "POST", url: url)
        #expect(refusal(proof)?.message.contains("replayed") == true)
        #expect(refusal(key.proof(jti: "one", nonce: nonce))?.code == "invalid_dpop_proof")
        // The same jti from another key is another proof.
        _ = try verifier.verify(DPoPTestKey().proof(jti: "one", nonce: nonce), method: "POST", url: url)
    }

    @Test func aResourceRequestsProofMustCarryTheTokensHash() throws {
        let token = "token-value"
        let ath = Base64URL.sha256(token)
        _ = try verifier.verify(key.proof(nonce: nonce, ath: ath), method: "POST", url: url, accessToken: token)
        #expect(refusal(key.proof(nonce: nonce), token: token)?.message.contains("ath") == true)
        #expect(refusal(key.proof(nonce: nonce, ath: Base64URL.sha256("other")), token: token)?.code == "invalid_dpop_proof")
    }

    @Test func headersOtherThanAnES256PublicKeyProofAreRefused() {
        #expect(refusal(key.proof(nonce: nonce, header: ["typ": "JWT"]))?.message.contains("typ") == true)
        #expect(refusal(key.proof(nonce: nonce, header: ["alg": "HS256"]))?.message.contains("ES256") == true)
        var withPrivate = key.jwk
        withPrivate["d"] = Base64URL.encode(key.key.rawRepresentation)
        #expect(refusal(key.proof(nonce: nonce, header: ["jwk": withPrivate]))?.message.contains("private") == true)
        // The header's key is another than the one that signed.
        #expect(refusal(key.proof(nonce: nonce, header: ["jwk": DPoPTestKey().jwk]))?.message.contains("signature") == true)
        #expect(refusal(key.proof(nonce: nonce, header: ["crit": ["exp"]]))?.code == "invalid_dpop_proof")
        #expect(refusal("not.a.jws")?.code == "invalid_dpop_proof")
        #expect(refusal(nil)?.code == "invalid_dpop_proof")
        #expect(refusal(String(repeating: "a", count: 10_000))?.code == "invalid_dpop_proof")
    }

    @Test func aHighSSignatureIsAcceptedAsES256Allows() throws {
        // Flip s to n - s: the same signature in its other (high-S) form.
        let proof = key.proof(nonce: nonce)
        let parts = proof.split(separator: ".")
        var signature = Base64URL.decode(parts[2])!
        let n: [UInt8] = Array(P256Order.bytes)
        var s = Array(signature[32...])
        var borrow = 0
        for i in stride(from: 31, through: 0, by: -1) {
            let value = Int(n[i]) - Int(s[i]) - borrow
            s[i] = UInt8((value + 256) % 256)
            borrow = value < 0 ? 1 : 0
        }
        signature.replaceSubrange(32..., with: s)
        let flipped = parts[0] + "." + parts[1] + "." + Base64URL.encode(signature)
        _ = try verifier.verify(flipped, method: "POST", url: url)
    }
}

/// The order of the P-256 group.
enum P256Order {
    static let bytes: [UInt8] = [
        0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
        0xBC, 0xE6, 0xFA, 0xAD, 0xA7, 0x17, 0x9E, 0x84, 0xF3, 0xB9, 0xCA, 0xC2, 0xFC, 0x63, 0x25, 0x51,
    ]
}
