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
        // On a development server, pages opened on localhost move to 127.0.0.1 (the callback's host).
        let connection = try RawHTTPConnection(port: server.port)
        #expect(connection.send("GET /dashboard/signin HTTP/1.1\r\nHost: localhost:\(server.port)\r\nConnection: close\r\n\r\n"))
        let onLocalhost = (await connection.readResponse() ?? "").lowercased()
        #expect(onLocalhost.contains(" 303 ") && onLocalhost.contains("location: http://127.0.0.1:\(server.port)/dashboard/signin"), "\(onLocalhost)")
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

    /// A plain PDS (`home`) and a dashboard server indexing it through its
    /// Jetstream, both registering their accounts with `plc` and reaching
    /// each other on loopback ports.
    static func twoServers(plc: FakePLCDirectory, dashboardConfig: @escaping (inout PDSConfig) -> Void = { _ in }) async throws
        -> (home: TestServer, dashboard: TestServer)
    {
        let home = try await TestServer.start {
            $0.plcDirectoryURL = plc.url
            $0.allowPrivateOutbound = true
        }
        let (dashboard, _) = try await TestServer.startWithDashboard(jetstreamURLs: ["ws://127.0.0.1:\(home.port)/subscribe"]) {
            $0.plcDirectoryURL = plc.url
            $0.allowPrivateOutbound = true
            dashboardConfig(&$0)
        }
        return (home, dashboard)
    }

    /// A page as a browser with the session cookie gets it. Over a raw
    /// connection: Foundation's URLSession on Linux was seen to send such a
    /// request without the Cookie header given (and then follow the
    /// redirect to the sign-in page), under a full test run.
    static func get(_ server: TestServer, _ path: String, cookie: String) async throws -> (status: Int, text: String) {
        let connection = try RawHTTPConnection(port: server.port)
        _ = connection.send(
            "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(server.port)\r\nCookie: atrarium-session=\(cookie)\r\nConnection: close\r\n\r\n")
        let text = await connection.readUntilClosed(timeout: 10).text
        return (Int(text.split(separator: " ").dropFirst().first ?? "") ?? 0, text)
    }

    /// A signed-in browser without the OAuth dance: a session row as the
    /// callback stores it, and its cookie.
    static func session(_ server: TestServer, did: String) async throws -> (cookie: String, csrf: String) {
        let cookie = String(repeating: "c", count: 43), csrf = "csrf-token-of-the-test"
        let now = Int(Date().timeIntervalSince1970)
        try await server.services.oauthClients.save(
            OAuthClientStore.Session(
                idHash: OAuthClientAgent.hash(cookie), did: try DID(did),
                server: .init(issuer: server.baseURL, tokenEndpoint: server.baseURL + "/oauth/token", revocationEndpoint: nil),
                pdsURL: server.baseURL, scope: "atproto", accessToken: "unused", accessExpiresAt: now + 900, refreshToken: nil,
                dpopKey: DPoPClientKey().rawRepresentation, authNonce: nil, pdsNonce: nil, csrf: csrf, createdAt: now, expiresAt: now + 3600))
        return (cookie, csrf)
    }

    /// Atrarium's lifecycle: a theme past the configured size is suggested
    /// to move on (to its owner only), a community past 200 members is
    /// warned about, and one without posts for `inactiveAfterDays` is
    /// marked inactive on its page and in `describeFeedGenerator`.
    @Test func lifecycleSuggestionsAndInactivity() async throws {
        var dashboard = DashboardConfig()
        dashboard.suggestCommunityAtMembers = 2
        let (server, box) = try await TestServer.startWithDashboard(dashboard)
        defer { Task { await server.stop() } }
        let owner = try await server.createAccount("owner")
        let member = try await server.createAccount("member")
        let created = try await server.api("POST", "/api/communities", #"{"name": "Herons"}"#, token: owner.accessJwt)
        let id = try #require(created["community"]?["id"]?.stringValue)
        let ownerPage = try await Self.session(server, did: owner.did)
        func page(_ cookie: String) async throws -> (status: Int, text: String) {
            try await Self.get(server, "/dashboard/c/\(id)", cookie: cookie)
        }
        var shown = try await page(ownerPage.cookie)
        #expect(shown.status == 200 && !shown.text.contains("class=\"warn\""), "no suggestion for one member")
        #expect(try await server.api("POST", "/api/communities/\(id)/members", "{}", token: member.accessJwt).status == 201)
        for _ in 0..<200 {
            let members = try await server.api("GET", "/api/communities/\(id)/members", token: owner.accessJwt)
            if members["members"]?.arrayValue?.count == 2 { break }
            try await Task.sleep(for: .milliseconds(25))
        }
        shown = try await page(ownerPage.cookie)
        #expect(shown.text.contains("This theme has 2 members"), "the owner is told the theme may move on")
        #expect(!shown.text.contains("inactive"), "a new community is not inactive")
        let described = try await server.query("app.bsky.feed.describeFeedGenerator", [])
        #expect(described["feeds"]?.arrayValue?.first?["inactive"] == nil)

        // Twenty days without a post (the default threshold is 14).
        let old = Int64(Date().timeIntervalSince1970 - 20 * 86_400) * 1000
        try await box.generator.pool.write { db in
            try db.execute(sql: "UPDATE community SET indexed_at = ?, last_post_at = NULL WHERE id = ?", arguments: [old, id])
        }
        shown = try await page(ownerPage.cookie)
        let stored = try await box.generator.index.community(id: id)
        #expect(
            shown.text.contains("No posts for 14 days") && shown.text.contains("badge inactive"),
            "\(shown.status), last activity \(stored?.lastActivityAt ?? -1) (set \(old)): \(shown.text.suffix(1500))")
        let quiet = try await server.query("app.bsky.feed.describeFeedGenerator", [])
        #expect(quiet["feeds"]?.arrayValue?.first?["inactive"] == true)
        // A post wakes it up.
        let post = try await server.createPost(member, "back #atrarium_\(id)")
        _ = try await server.awaitDashboardFeed(id, [post], token: member.accessJwt)
        let awake = try await server.query("app.bsky.feed.describeFeedGenerator", [])
        #expect(awake["feeds"]?.arrayValue?.first?["inactive"] == nil)
    }

    /// Someone whose account is on another PDS signs in to the dashboard
    /// (with their DID; the PLC directory leads to their PDS), consents on
    /// their PDS's own pages, and creates a community: its records are
    /// written to their repository there, with their DPoP-bound token.
    @Test func someoneFromAnotherPDSSignsInAndCreatesACommunity() async throws {
        #expect(FileManager.default.isExecutableFile(atPath: ProjectTools.python), "no Python venv: run scripts/test")
        #expect(Self.chromiumInstalled, "no chromium-driver: run scripts/test")
        guard FileManager.default.isExecutableFile(atPath: ProjectTools.python), Self.chromiumInstalled else { return }
        let plc = try await FakePLCDirectory()
        defer { plc.stop() }
        let (home, dashboard) = try await Self.twoServers(plc: plc)
        defer { Task { await home.stop(); await dashboard.stop() } }
        let person = try await home.createAccount("kingfisher", password: "kingfisher-password-1")
        let screenshots = ProjectTools.root.appendingPathComponent(".build/dashboard-screenshots").path
        let (status, output) = try await ProjectTools.runPython(
            script: "Tests/Python/dashboard_remote_e2e.py",
            arguments: [dashboard.baseURL, home.baseURL, person.did, person.handle, "kingfisher-password-1", screenshots])
        print("dashboard remote e2e: \(output.trimmingCharacters(in: .whitespacesAndNewlines).suffix(1500))")
        #expect(status == 0, "\(output)")
        #expect(output.hasSuffix("OK\n"))
        // The records are in the person's repository on their own PDS, and
        // the dashboard's server holds no repository for them.
        #expect(try await home.records(person.did, AtrariumRecords.config.string).count == 1)
        #expect(try await home.records(person.did, AtrariumRecords.feedGenerator.string).count == 1)
        #expect(try await dashboard.services.accounts.account(did: try DID(person.did)) == nil)
        // The grant the dashboard holds is one of the home server's.
        let grants = try await home.services.oauth.grants.grants(did: try DID(person.did), now: Int(Date().timeIntervalSince1970))
        #expect(grants.count == 1)
    }

    /// The feed page shows a post hosted on another PDS with its text, read
    /// from the configured AppView (`app.bsky.feed.getPosts`, asked as the
    /// signed-in user of this server with a service token).
    @Test func postsFromOtherPDSesAreShownWithTheAppViewsText() async throws {
        let plc = try await FakePLCDirectory()
        defer { plc.stop() }
        let appView = try await FakeAppView(plcURL: plc.url)
        defer { appView.stop() }
        let (home, dashboard) = try await Self.twoServers(plc: plc) {
            $0.appViewURL = appView.url
            $0.appViewDID = appView.did
        }
        defer { Task { await home.stop(); await dashboard.stop() } }
        let owner = try await dashboard.createAccount("owner")
        let author = try await home.createAccount("faraway")
        let created = try await dashboard.api("POST", "/api/communities", #"{"name": "Herons"}"#, token: owner.accessJwt)
        let id = try #require(created["community"]?["id"]?.stringValue)
        let configURI = try #require(created["uri"]?.stringValue)
        // The author joins from their own PDS, as the Atrarium client would, and posts.
        _ = try await home.createRecord(
            author, "net.atrarium.community.membership",
            [
                "$type": "net.atrarium.community.membership", "community": .string(configURI), "role": "member",
                "joinedAt": .string(ATDatetime.now().string),
            ])
        let post = try await home.createPost(author, "a heron far away #atrarium_\(id)")
        appView.answer(
            "app.bsky.feed.getPosts",
            with: [
                "posts": [
                    [
                        "uri": .string(post), "cid": "bafyreib2rxk3rh6kzwq", "author": ["did": .string(author.did), "handle": "faraway.example"],
                        "record": ["$type": "app.bsky.feed.post", "text": "a heron far away (from the AppView)", "createdAt": .string(ATDatetime.now().string)],
                    ]
                ]
            ], rev: nil)
        _ = try await dashboard.awaitDashboardFeed(id, [post], token: owner.accessJwt)
        let session = try await Self.session(dashboard, did: owner.did)
        let page = try await Self.get(dashboard, "/dashboard/c/\(id)", cookie: session.cookie)
        #expect(page.status == 200)
        #expect(page.text.contains("a heron far away (from the AppView)") && page.text.contains("@faraway.example"))
        let asked = try #require(appView.requests.last { $0.nsid == "app.bsky.feed.getPosts" })
        #expect(asked.failure == nil && asked.claims?.iss == owner.did && asked.claims?.lxm == "app.bsky.feed.getPosts")
        #expect(asked.query.contains("uris="))
    }

    /// Every text a template names exists in English, and Japanese has
    /// every English text (Mustache would render a missing one as nothing).
    @Test func everyTextOfEveryTemplateIsTranslated() throws {
        let folder = ProjectTools.root.appendingPathComponent("Sources/Atrarium/Dashboard/Pages/templates")
        var named = Set<String>()
        for file in try FileManager.default.contentsOfDirectory(atPath: folder.path) where file.hasSuffix(".mustache") {
            let text = try String(contentsOf: folder.appendingPathComponent(file), encoding: .utf8)
            for match in text.matches(of: /\{\{t\.([a-z_]+)\}\}/) { named.insert(String(match.1)) }
        }
        #expect(named.count > 50)
        #expect(named.subtracting(PageStrings.en.keys).isEmpty, "missing in English: \(named.subtracting(PageStrings.en.keys).sorted())")
        #expect(Set(PageStrings.en.keys).subtracting(PageStrings.ja.keys).isEmpty, "missing in Japanese: \(Set(PageStrings.en.keys).subtracting(PageStrings.ja.keys).sorted())")
        #expect(Set(PageStrings.ja.keys).subtracting(PageStrings.en.keys).isEmpty)
        // The reasons, stages, roles and actions the code labels.
        for reason in DashboardAPI.moderationReasons { #expect(PageStrings.en["reason_" + reason] != nil) }
        for stage in DashboardAPI.stages { #expect(PageStrings.en["stage_" + stage] != nil) }
        for key in ["role_owner", "role_moderator", "role_member", "role_pending", "action_hide_post", "action_block_user"] {
            #expect(PageStrings.en[key] != nil)
        }
        #expect(PageLanguage.of(cookie: nil, acceptLanguage: "fr-FR, ja;q=0.8, en;q=0.5") == .ja)
        #expect(PageLanguage.of(cookie: "en", acceptLanguage: "ja") == .en)
        #expect(PageLanguage.of(cookie: "xx", acceptLanguage: nil) == .en)
    }

    /// The stylesheet's text colours reach WCAG AA contrast (4.5:1) on the
    /// backgrounds they are used on.
    @Test func theStylesheetsColoursHaveEnoughContrast() throws {
        let css = try String(
            contentsOf: ProjectTools.root.appendingPathComponent("Sources/Atrarium/Dashboard/Pages/assets/dashboard.css"), encoding: .utf8)
        var variables: [String: String] = [:]
        for match in css.matches(of: /--([a-z-]+):\s*(#[0-9a-fA-F]{6})/) { variables[String(match.1)] = String(match.2) }
        func colour(_ name: String) throws -> String { try #require(name.hasPrefix("#") ? name : variables[name], "no colour \(name)") }
        func luminance(_ hex: String) -> Double {
            let value = Int(hex.dropFirst(), radix: 16) ?? 0
            func linear(_ byte: Int) -> Double {
                let c = Double(byte) / 255
                return c <= 0.03928 ? c / 12.92 : pow((c + 0.055) / 1.055, 2.4)
            }
            let red: Double = linear((value >> 16) & 0xff), green: Double = linear((value >> 8) & 0xff), blue: Double = linear(value & 0xff)
            return 0.2126 * red + 0.7152 * green + 0.0722 * blue
        }
        func contrast(_ a: String, _ b: String) throws -> Double {
            let (x, y) = (luminance(try colour(a)), luminance(try colour(b)))
            return (max(x, y) + 0.05) / (min(x, y) + 0.05)
        }
        // (text, background) as the stylesheet pairs them.
        let pairs: [(String, String)] = [
            ("ink", "bg"), ("ink", "card"), ("muted", "bg"), ("muted", "card"), ("accent", "card"), ("accent", "bg"),
            ("accent-ink", "accent"), ("danger", "card"), ("ok", "#e7f3ea"), ("danger", "#fbeaea"), ("#6b4b00", "#fff4d6"),
            ("ink", "#e4e9f2"), ("ink", "#eef1f6"),
        ]
        for (text, background) in pairs {
            let ratio = try contrast(text, background)
            #expect(ratio >= 4.5, "\(text) on \(background): \(String(format: "%.2f", ratio)):1")
        }
    }
}
