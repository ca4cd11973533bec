import Foundation
import OAuth
import PDSTestSupport
import Testing

@testable import PDS

/// The authorize pages' defences: what a client's metadata says is shown
/// as text, never as markup; the pages cannot be framed; and a form from
/// another site or without this browser's cookie is refused.
@Suite("OAuth pages")
struct OAuthPageTests {
    @Test func aClientsMetadataIsEscapedWhereverThePagesShowIt() throws {
        var metadata = ClientMetadata()
        metadata.client_id = "https://app.example/client.json"
        metadata.client_name = "<script>alert('x')</script>\" onload=\"x"
        metadata.client_uri = "https://app.example/\"><img src=x>"
        metadata.logo_uri = "https://app.example/logo.png\" onerror=\"alert(1)"
        metadata.redirect_uris = ["https://app.example/cb"]
        metadata.scope = "atproto"
        metadata.dpop_bound_access_tokens = true
        let client = try OAuthClient(clientID: "https://app.example/client.json", metadata: metadata)
        let html = OAuthPageHTML.clientHeader(client)
        #expect(!html.contains("<script>") && !html.contains("<img src=x>") && !html.contains("\" onerror=\"") && !html.contains("\" onload=\""))
        #expect(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"))
    }

    @Test func pagesCannotBeFramedAndFormsFromElsewhereAreRefused() async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let page = try await server.request("GET", "/oauth/authorize", query: [("client_id", "http://localhost"), ("request_uri", "urn:x")])
        #expect(page.status == 400)
        #expect(page.headers["content-security-policy"]?.contains("frame-ancestors 'none'") == true)
        #expect(page.headers["x-frame-options"] == "DENY")
        #expect(page.text.contains("pushed authorization requests"))
        let form = Array("request_uri=urn%3Aietf%3Aparams%3Aoauth%3Arequest_uri%3Areq-x&identifier=a&password=b".utf8)
        let foreign = try await server.request(
            "POST", "/oauth/authorize/sign-in", body: form, contentType: "application/x-www-form-urlencoded",
            headers: ["Origin": "https://evil.example", "Cookie": "pds-device=\(String(repeating: "a", count: 43))"])
        #expect(foreign.status == 403 && foreign.text.contains("another site"))
        let noCookie = try await server.request(
            "POST", "/oauth/authorize/sign-in", body: form, contentType: "application/x-www-form-urlencoded", headers: ["Origin": server.baseURL])
        #expect(noCookie.status == 403 && noCookie.text.contains("cookie"))
        let forged = try await server.request(
            "POST", "/oauth/authorize/sign-in", body: form + Array("&csrf=forged".utf8), contentType: "application/x-www-form-urlencoded",
            headers: ["Origin": server.baseURL, "Cookie": "pds-device=\(String(repeating: "a", count: 43))"])
        #expect(forged.status == 403 && forged.text.contains("expired"))
    }

    @Test func pushedRequestsFromOneAddressAreLimited() async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        for _ in 0..<OAuthRoutes.parLimit.max {
            let reply = try await server.request(
                "POST", "/oauth/par", body: Array("client_id=x".utf8), contentType: "application/x-www-form-urlencoded")
            #expect(reply.status == 400)
        }
        let refused = try await server.request(
            "POST", "/oauth/par", body: Array("client_id=x".utf8), contentType: "application/x-www-form-urlencoded")
        #expect(refused.status == 429 && refused.headers["retry-after"] != nil && refused.text.contains("rate_limited"))
    }
}
