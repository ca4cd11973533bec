import Foundation
import Testing

@testable import OAuth

@Suite("private_key_jwt client assertions")
struct ClientAssertionTests {
    let key = DPoPTestKey()
    let clientID = "https://app.example/client-metadata.json"
    var keys: [JWKObject] { [JWKObject(kty: "EC", crv: "P-256", x: key.jwk["x"], y: key.jwk["y"], kid: "k1")] }

    func assertion(kid: String = "k1", aud: String = "https://pds.example", iss: String? = nil, jti: String = UUID().uuidString) -> String {
        let now = Int(Date().timeIntervalSince1970)
        return key.sign(
            header: ["alg": "ES256", "kid": kid],
            claims: ["iss": iss ?? clientID, "sub": clientID, "aud": aud, "iat": now, "exp": now + 60, "jti": jti])
    }

    @Test func aGoodAssertionIsAcceptedOnce() throws {
        let replays = ReplayCache()
        let token = assertion(jti: "a")
        #expect(try ClientAssertion.verify(token, clientID: clientID, keys: keys, audiences: ["https://pds.example"], replays: replays) == "k1")
        #expect(throws: OAuthError.self) {
            try ClientAssertion.verify(token, clientID: clientID, keys: keys, audiences: ["https://pds.example"], replays: replays)
        }
    }

    @Test func anotherAudienceIssuerOrKeyIsRefused() {
        let replays = ReplayCache()
        for bad in [assertion(aud: "https://other.example"), assertion(iss: "https://evil.example/c.json"), assertion(kid: "k2")] {
            #expect(throws: OAuthError.self) {
                try ClientAssertion.verify(bad, clientID: clientID, keys: keys, audiences: ["https://pds.example"], replays: replays)
            }
        }
        let other = DPoPTestKey().jwk
        let otherKeys = [JWKObject(kty: "EC", crv: "P-256", x: other["x"], y: other["y"], kid: "k1")]
        #expect(throws: OAuthError.self) {
            try ClientAssertion.verify(assertion(), clientID: clientID, keys: otherKeys, audiences: ["https://pds.example"], replays: replays)
        }
    }
}
