import Foundation
import Testing

@testable import OAuth

@Suite("OAuth client metadata")
struct ClientMetadataTests {
    func metadata(_ change: (inout ClientMetadata) -> Void = { _ in }) -> ClientMetadata {
        var m = ClientMetadata()
        m.client_id = "https://app.example/client-metadata.json"
        m.client_name = "Example"
        m.redirect_uris = ["https://app.example/callback"]
        m.scope = "atproto transition:generic"
        m.grant_types = ["authorization_code", "refresh_token"]
        m.response_types = ["code"]
        m.dpop_bound_access_tokens = true
        change(&m)
        return m
    }

    func refusal(_ m: ClientMetadata) -> String? {
        do {
            _ = try OAuthClient(clientID: "https://app.example/client-metadata.json", metadata: m)
            return nil
        } catch {
            return error.message
        }
    }

    @Test func aWebClientWithEverythingTheProfileAsksIsAccepted() throws {
        let client = try OAuthClient(clientID: "https://app.example/client-metadata.json", metadata: metadata())
        #expect(client.authMethod == .none && client.mayRefresh && client.displayName == "Example")
        #expect(client.allowsRedirect("https://app.example/callback"))
        #expect(!client.allowsRedirect("https://app.example/callback/other"))
    }

    @Test func documentsThatBreakTheProfileAreRefused() {
        #expect(refusal(metadata { $0.client_id = "https://other.example/client-metadata.json" })?.contains("client_id") == true)
        #expect(refusal(metadata { $0.dpop_bound_access_tokens = nil })?.contains("dpop") == true)
        #expect(refusal(metadata { $0.scope = "transition:generic" })?.contains("atproto") == true)
        #expect(refusal(metadata { $0.redirect_uris = [] }) != nil)
        #expect(refusal(metadata { $0.redirect_uris = ["http://app.example/callback"] })?.contains("loopback") == true)
        #expect(refusal(metadata { $0.redirect_uris = ["com.example.app:/callback"] })?.contains("native") == true)
        #expect(refusal(metadata { $0.grant_types = ["implicit"] }) != nil)
        #expect(refusal(metadata { $0.token_endpoint_auth_method = "client_secret_basic" }) != nil)
        #expect(refusal(metadata { $0.token_endpoint_auth_method = "private_key_jwt" })?.contains("ES256") == true)
        #expect(refusal(metadata { $0.logo_uri = "javascript:alert(1)" }) != nil)
    }

    @Test func aNativeClientMayUseItsReversedHostAsAScheme() throws {
        let client = try OAuthClient(
            clientID: "https://app.example/client-metadata.json",
            metadata: metadata {
                $0.application_type = "native"
                $0.redirect_uris = ["example.app:/callback", "http://127.0.0.1/callback"]
            })
        #expect(client.allowsRedirect("example.app:/callback"))
        // A loopback redirect matches on any port (RFC 8252 §7.3).
        #expect(client.allowsRedirect("http://127.0.0.1:51234/callback"))
        #expect(!client.allowsRedirect("http://127.0.0.1:51234/elsewhere"))
    }

    @Test func loopbackDevelopmentClientsNeedNoDocument() throws {
        let plain = try OAuthClient(loopbackClientID: "http://localhost")
        #expect(plain.scope.tokens == ["atproto"] && plain.isLoopback)
        #expect(plain.allowsRedirect("http://127.0.0.1:8080/"))
        let custom = try OAuthClient(
            loopbackClientID: "http://localhost?redirect_uri=http%3A%2F%2F127.0.0.1%3A9000%2Fcb&scope=atproto+transition%3Ageneric")
        #expect(custom.scope.transitionGeneric && custom.allowsRedirect("http://127.0.0.1:9000/cb"))
        #expect(!custom.allowsRedirect("http://127.0.0.1:9000/other"))
        #expect(throws: OAuthError.self) { try OAuthClient(loopbackClientID: "http://localhost:8080") }
        #expect(throws: OAuthError.self) { try OAuthClient(loopbackClientID: "http://localhost?redirect_uri=https%3A%2F%2Fevil.example") }
        #expect(throws: OAuthError.self) { try OAuthClient(loopbackClientID: "http://localhost?scope=transition%3Ageneric") }
    }
}
