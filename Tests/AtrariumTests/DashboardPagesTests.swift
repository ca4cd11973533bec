import ATProto
@testable import Atrarium
import FeedGen
import Foundation
import OAuth
import PDSTestSupport
import Testing

@testable import PDS

/// The dashboard's pages: driven in headless Chromium end to end
/// (Tests/Python/dashboard_e2e.py), and what they refuse over plain HTTP.
@Suite("Atrarium dashboard pages")
struct DashboardPagesTests {
    static var chromiumInstalled: Bool { FileManager.default.isExecutableFile(atPath: "/usr/bin/chromedriver") }

    @Test func aCommunityIsCreatedJoinedApprovedAndModeratedInTheBrowser() async throws {
        #expect(FileManager.default.isExecutableFile(atPath: ProjectTools.python), "no Python venv: run scripts/test")
        #expect(Self.chromiumInstalled, "no chromium-driver: run scripts/test")
        guard FileManager.default.isExecutableFile(atPath: ProjectTools.python), Self.chromiumInstalled else { return }
        let (server, _) = try await TestServer.startWithDashboard()
        defer { Task { await server.stop() } }
        let owner = try await server.createAccount("owner", password: "owner-password-1")
        let member = try await server.createAccount("member", password: "member-password-1")
        let screenshots = ProjectTools.root.appendingPathComponent(".build/dashboard-screenshots").path
        let (status, output) = try await ProjectTools.runPython(
            script: "Tests/Python/dashboard_e2e.py",
            arguments: [server.baseURL, owner.handle, "owner-password-1", member.handle, "member-password-1", screenshots])
        print("dashboard e2e: \(output.trimmingCharacters(in: .whitespacesAndNewlines).suffix(1500))")
        #expect(status == 0, "\(output)")
        #expect(output.hasSuffix("OK\n"))
        // What the browser did is in the repositories: the owner's config,
        // feed generator record, approval and hide; the member's claim.
        #expect(try await server.records(owner.did, AtrariumRecords.config.string).count == 1)
        #expect(try await server.records(owner.did, AtrariumRecords.feedGenerator.string).count == 1)
        #expect(try await server.records(owner.did, AtrariumRecords.approval.string).count == 1)
        let actions = try await server.records(owner.did, AtrariumRecords.moderationAction.string)
        #expect(actions.count == 1 && actions.first?["value"]?["target"]?["$type"] == "net.atrarium.moderation.action#postTarget")
        #expect(actions.first?["value"]?["reason"] == "off_topic")
        #expect(try await server.records(member.did, AtrariumRecords.membership.string).count == 1)
        // The refused edits changed nothing: the config is the one created.
        let config = try await server.records(owner.did, AtrariumRecords.config.string).first?["value"]
        #expect(config?["name"] == "Herons of the bay" && config?["feedMix"]?["own"]?.intValue == 100)
    }

    @Test func signedOutPagesAndTheClientIdentity() async throws {
        let (server, _) = try await TestServer.startWithDashboard()
        defer { Task { await server.stop() } }
        // Pages that need a person send the browser to sign in; posts are refused.
        let community = try await server.request("GET", "/dashboard/c/12345678")
        #expect(community.status == 200 && community.text.contains("id=\"identifier\""), "redirected to the sign-in page")
        let post = try await server.request(
            "POST", "/dashboard/new", body: Array("name=x".utf8), contentType: "application/x-www-form-urlencoded")
        #expect(post.status == 401)
        // A handle nobody has is named beside the field; nothing is stored.
        let unknown = try await server.request(
            "POST", "/dashboard/signin", body: Array("identifier=nobody.invalid".utf8), contentType: "application/x-www-form-urlencoded")
        #expect(unknown.status == 400 && unknown.text.contains("id=\"identifier-error\""), "\(unknown.text)")
        #expect(try await server.count("SELECT COUNT(*) FROM oauth_client_request") == 0)
        // A development server's dashboard is a loopback client, which the
        // authorization server accepts as it is.
        let registration = DashboardPages.registration(server.services.config)
        #expect(OAuthClient.isLoopbackClientID(registration.clientID))
        let client = try OAuthClient(loopbackClientID: registration.clientID)
        #expect(client.redirectURIs.contains(registration.redirectURI))
        #expect((try await server.request("GET", "/dashboard/client-metadata.json")).status == 404)
        // The stylesheet and script are served; the pages forbid framing and foreign scripts.
        #expect((try await server.request("GET", "/dashboard/assets/dashboard.css")).status == 200)
        let page = try await server.request("GET", "/dashboard/signin")
        #expect(page.headers["content-security-policy"]?.contains("script-src 'self'") == true)
    }

    @Test func anHTTPSServerPublishesAValidClientMetadataDocument() async throws {
        var config = PDSConfig()
        config.publicURL = "https://pds.example.com"
        config.hostname = "pds.example.com"
        let registration = DashboardPages.registration(config)
        #expect(registration.clientID == "https://pds.example.com/dashboard/client-metadata.json")
        let (server, _) = try await TestServer.startWithDashboard(publicURL: "https://pds.example.com")
        defer { Task { await server.stop() } }
        let reply = try await server.request("GET", "/dashboard/client-metadata.json")
        #expect(reply.status == 200)
        let metadata = try JSONDecoder().decode(ClientMetadata.self, from: Data(reply.text.utf8))
        // The authorization server's own validation accepts it.
        let client = try OAuthClient(clientID: registration.clientID, metadata: metadata)
        #expect(client.redirectURIs == ["https://pds.example.com/dashboard/oauth/callback"])
        #expect(metadata.scope?.contains("repo:net.atrarium.moderation.action") == true)
    }
}
