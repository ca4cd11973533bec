import ATProto
import Crypto
import Foundation
import OAuth
import PDSTestSupport
import Testing

@testable import PDS

/// Lifetimes: a pushed request past its 5 minutes and a code past its
/// 60 s are refused. The rows are written already expired, since the test
/// cannot wait.
@Suite("OAuth expiry")
struct OAuthExpiryTests {
    static let client = "http://localhost"

    func parameters(challenge: String) -> AuthorizationParameters {
        AuthorizationParameters(
            clientID: Self.client, redirectURI: "http://127.0.0.1/", scope: "atproto", state: "s", codeChallenge: challenge,
            responseMode: "query", loginHint: nil, prompt: nil)
    }

    @Test func anExpiredRequestURIShowsAnErrorPage() async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let now = Int(Date().timeIntervalSince1970)
        try await server.services.oauth.requests.create(
            id: "req-expired", parameters: parameters(challenge: "x"), dpopJKT: "k", clientAuth: "none", expiresAt: now - 1)
        let page = try await server.request(
            "GET", "/oauth/authorize", query: [("client_id", Self.client), ("request_uri", OAuthServices.requestURIPrefix + "req-expired")])
        #expect(page.status == 400 && page.text.contains("expired"))
    }

    @Test func anExpiredCodeIsRefusedWithInvalidGrant() async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let account = try await server.createAccount("expiry")
        let key = P256.Signing.PrivateKey()
        let point = key.publicKey.rawRepresentation
        let jwk = JWKObject(kty: "EC", crv: "P-256", x: Base64URL.encode(point.prefix(32)), y: Base64URL.encode(point.suffix(32)))
        let thumbprint = try ECPublicJWK(jwk).thumbprint
        let verifier = String(repeating: "v", count: 43)
        let oauth = server.services.oauth
        let now = Int(Date().timeIntervalSince1970)
        try await oauth.requests.create(
            id: "req-code", parameters: parameters(challenge: Base64URL.sha256(verifier)), dpopJKT: thumbprint, clientAuth: "none",
            expiresAt: now + 300)
        let code = "cod-expired-code"
        #expect(try await oauth.requests.consent("req-code", did: try DID(account.did), codeHash: OAuthServices.hash(code), codeExpiresAt: now - 1))

        func proof(nonce: String?) throws -> String {
            let header = Base64URL.encode(
                Array("{\"alg\":\"ES256\",\"jwk\":{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"\(jwk.x!)\",\"y\":\"\(jwk.y!)\"},\"typ\":\"dpop+jwt\"}".utf8))
            var claims = "{\"htm\":\"POST\",\"htu\":\"\(oauth.issuer)/oauth/token\",\"iat\":\(Int(Date().timeIntervalSince1970)),\"jti\":\"\(UUID())\""
            if let nonce { claims += ",\"nonce\":\"\(nonce)\"" }
            let input = header + "." + Base64URL.encode(Array((claims + "}").utf8))
            return input + "." + Base64URL.encode(try key.signature(for: Data(input.utf8)).rawRepresentation)
        }
        let form = Array(
            "grant_type=authorization_code&code=\(code)&redirect_uri=http%3A%2F%2F127.0.0.1%2F&code_verifier=\(verifier)&client_id=http%3A%2F%2Flocalhost"
                .utf8)
        let first = try await server.request(
            "POST", "/oauth/token", body: form, contentType: "application/x-www-form-urlencoded", headers: ["DPoP": try proof(nonce: nil)])
        #expect(first.status == 400 && first.text.contains("use_dpop_nonce"))
        let nonce = try #require(first.headers["dpop-nonce"])
        let second = try await server.request(
            "POST", "/oauth/token", body: form, contentType: "application/x-www-form-urlencoded", headers: ["DPoP": try proof(nonce: nonce)])
        #expect(second.status == 400 && second.text.contains("invalid_grant") && second.text.contains("expired"), "\(second.text)")
        #expect(try await oauth.grants.grants(did: nil, now: now).isEmpty)
    }

    @Test func grantsPastTheirEndAreDeletedWithTheirTokensAtTheNextSignIn() async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let did = try DID(try await server.createAccount("old-grants").did)
        let grants = server.services.oauth.grants
        let requests = server.services.oauth.requests
        let now = Int(Date().timeIntervalSince1970)
        func grant(_ id: String, expiresAt: Int) -> OAuthGrantStore.Grant {
            OAuthGrantStore.Grant(
                id: id, did: did, clientID: Self.client, clientName: nil, scope: "atproto", dpopJKT: "k", clientAuth: "none",
                createdAt: now - 100, lastUsedAt: now - 100, expiresAt: expiresAt)
        }
        for (id, request) in [("ended", "req-a"), ("current", "req-b")] {
            try await requests.create(id: request, parameters: parameters(challenge: "x"), dpopJKT: "k", clientAuth: "none", expiresAt: now + 300)
            #expect(try await requests.consent(request, did: did, codeHash: "h-" + request, codeExpiresAt: now + 60))
            let outcome = try await grants.exchange(
                requestID: request, grant: grant(id, expiresAt: id == "ended" ? now + 1 : now + 86_400), refreshHash: "r-" + id,
                refreshExpiresAt: now + 86_400, now: id == "ended" ? now : now + 2)
            guard case .granted = outcome else { Issue.record("\(id): \(outcome)"); return }
        }
        #expect(try await grants.grants(did: did, now: now).map(\.id) == ["current"])
        #expect(try await grants.grantID(ofRefreshToken: "r-ended") == nil)
        #expect(try await grants.grantID(ofRefreshToken: "r-current") == "current")
    }
}
