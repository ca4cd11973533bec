import Foundation
import OAuth
import PDSTestSupport
import Testing

@testable import PDS

/// OAuth sign-in with clients someone else wrote: `requests-oauth2client`
/// as the app and headless Chromium as the user's browser
/// (Tests/Python/oauth_e2e.py), and the server's refusals and scopes over
/// HTTP (Tests/Python/oauth_checks.py). scripts/test installs Chromium
/// and the Python packages.
@Suite("OAuth end to end")
struct OAuthEndToEndTests {
    static var chromiumInstalled: Bool { FileManager.default.isExecutableFile(atPath: "/usr/bin/chromedriver") }

    @Test func aBrowserSignsInConsentsAndTheAppWritesRefreshesAndLosesAccess() async throws {
        #expect(FileManager.default.isExecutableFile(atPath: ProjectTools.python), "no Python venv: run scripts/test")
        #expect(Self.chromiumInstalled, "no chromium-driver: run scripts/test")
        guard FileManager.default.isExecutableFile(atPath: ProjectTools.python), Self.chromiumInstalled else { return }
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let account = try await server.createAccount("oauth-browser", password: "a-long-password-1")
        let screenshots = ProjectTools.root.appendingPathComponent(".build/oauth-screenshots").path
        let (status, output) = try await ProjectTools.runPython(
            script: "Tests/Python/oauth_e2e.py", arguments: [server.baseURL, account.handle, "a-long-password-1", screenshots])
        print("oauth e2e: \(output.trimmingCharacters(in: .whitespacesAndNewlines).suffix(1200))")
        #expect(status == 0, "\(output)")
        #expect(output.hasSuffix("OK\n"))
        // Both apps' grants were revoked (one by the app, one on the page).
        let left = try await server.services.oauth.grants.grants(did: nil, now: Int(Date().timeIntervalSince1970))
        #expect(left.isEmpty)
    }

    @Test func scopesAndBadInputAreRefusedWithTheRFCErrors() async throws {
        #expect(FileManager.default.isExecutableFile(atPath: ProjectTools.python), "no Python venv: run scripts/test")
        guard FileManager.default.isExecutableFile(atPath: ProjectTools.python) else { return }
        let plc = try await FakePLCDirectory()
        defer { plc.stop() }
        let appView = try await FakeAppView(plcURL: plc.url)
        defer { appView.stop() }
        let server = try await TestServer.start {
            $0.plcDirectoryURL = plc.url
            $0.appViewURL = appView.url
            $0.appViewDID = "did:web:appview.test"
            // Client metadata documents are served from a loopback port.
            $0.allowPrivateOutbound = true
        }
        defer { Task { await server.stop() } }
        let account = try await server.createAccount("oauth-checks", password: "a-long-password-2")
        let (status, output) = try await ProjectTools.runPython(
            script: "Tests/Python/oauth_checks.py",
            arguments: [server.baseURL, account.handle, "a-long-password-2", "did:web:appview.test#bsky_appview"])
        print("oauth checks: \(output.trimmingCharacters(in: .whitespacesAndNewlines).suffix(800))")
        #expect(status == 0, "\(output)")
        // What the refused requests left behind: nothing. The script says
        // how many grants it left in force; the store must hold exactly those.
        let expected = output.split(separator: "\n").last.flatMap { $0.hasPrefix("grants: ") ? Int($0.dropFirst(8)) : nil }
        let left = try await server.services.oauth.grants.grants(did: nil, now: Int(Date().timeIntervalSince1970))
        #expect(expected == 6 && left.count == expected)
        // The proxied call within the rpc: scope reached the AppView; the one outside did not.
        #expect(appView.requests.contains { $0.nsid == "app.bsky.actor.getProfile" })
        #expect(!appView.requests.contains { $0.nsid == "app.bsky.feed.getTimeline" })
    }

    @Test func aClientMetadataDocumentOnAPrivateAddressIsNotFetched() async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let reply = try await server.request(
            "POST", "/oauth/par", body: Array("client_id=https%3A%2F%2F127.0.0.1%3A9%2Fclient.json".utf8),
            contentType: "application/x-www-form-urlencoded", headers: ["DPoP": "x"])
        // DPoP is checked first: a bad proof names the proof.
        #expect(reply.status == 400 && reply.text.contains("invalid_dpop_proof"))
        let registry = server.services.oauth.clients
        await #expect(throws: OAuthError.self) { _ = try await registry.client("https://127.0.0.1:9/client.json") }
        do {
            _ = try await registry.client("https://127.0.0.1:9/client.json")
        } catch {
            #expect(error.code == "invalid_client" && error.message.contains("non-public address"), "\(error)")
        }
    }
}
