import ATCrypto
import ATProto
import Foundation
import PDSTestSupport
import Testing

@testable import PDS

/// Service auth and proxying to an AppView double that verifies the tokens
/// it receives against the user's DID document at a fake PLC directory.
@Suite("Service auth and proxying")
struct ProxyTests {
    /// A PLC directory, an AppView and a server using both.
    struct Setup {
        let plc: FakePLCDirectory
        let appView: FakeAppView
        let server: TestServer

        static func start(feedGenerators: [String: String] = [:], _ configure: @escaping (inout PDSConfig) -> Void = { _ in }) async throws -> Setup {
            let plc = try await FakePLCDirectory()
            let appView = try await FakeAppView(plcURL: plc.url, feedGenerators: feedGenerators)
            let server = try await startServer(plc: plc, appView: appView, configure)
            return Setup(plc: plc, appView: appView, server: server)
        }

        /// Another server using the same directory and AppView doubles.
        func startServer(_ configure: @escaping (inout PDSConfig) -> Void) async throws -> TestServer {
            try await Self.startServer(plc: plc, appView: appView, configure)
        }

        private static func startServer(
            plc: FakePLCDirectory, appView: FakeAppView, _ configure: @escaping (inout PDSConfig) -> Void
        ) async throws -> TestServer {
            try await TestServer.start {
                $0.plcDirectoryURL = plc.url
                $0.appViewURL = appView.url
                $0.appViewDID = "did:web:appview.test"
                configure(&$0)
            }
        }

        func stop() async {
            await server.stop()
            appView.stop()
            plc.stop()
        }
    }

    @Test func aProxiedTimelineCarriesAVerifiableServiceToken() async throws {
        let setup = try await Setup.start()
        let server = setup.server
        let alice = try await server.createAccount("alice")
        let before = Int(Date().timeIntervalSince1970)
        let reply = try await server.request(
            "GET", "/xrpc/app.bsky.feed.getTimeline", query: [("limit", "5")],
            headers: ["Authorization": "Bearer \(alice.accessJwt)", "Accept-Language": "fr", "atproto-accept-labelers": "did:plc:labeler"])
        #expect(reply.status == 200, "\(reply.text)")
        #expect(reply["servedBy"]?.stringValue == "fake-appview")
        #expect(reply.headers["atproto-content-labelers"] == "did:plc:labeler")
        let received = try #require(setup.appView.requests.last)
        #expect(received.failure == nil, "\(received.failure ?? "")")
        #expect(received.nsid == "app.bsky.feed.getTimeline" && received.query == "limit=5")
        #expect(received.claims?.iss == alice.did)
        #expect(received.claims?.aud == "did:web:appview.test")
        #expect(received.claims?.lxm == "app.bsky.feed.getTimeline")
        let exp = try #require(received.claims?.exp)
        #expect(exp > before && exp <= Int(Date().timeIntervalSince1970) + 60)
        #expect(received.headers["accept-language"] == "fr")
        #expect(received.headers["atproto-accept-labelers"] == "did:plc:labeler")

        // Each request gets a fresh token; upstream errors come back as they are.
        let thread = try await server.query("app.bsky.feed.getPostThread", [("uri", "at://\(alice.did)/app.bsky.feed.post/3k")], token: alice.accessJwt)
        #expect(thread.status == 400 && thread.error == "NotFound")
        #expect(setup.appView.requests.last?.claims?.jti != received.claims?.jti)
        // A procedure's body is forwarded.
        let mute = try await server.procedure("app.bsky.graph.muteActor", ["actor": "did:plc:abcdefghijklmnopqrstuvwx"], token: alice.accessJwt)
        #expect(mute.status == 200)
        #expect(setup.appView.requests.last.map { String(decoding: $0.body, as: UTF8.self) }?.contains("did:plc:abcdefghijklmnopqrstuvwx") == true)
        // Without a session nothing is forwarded.
        let count = setup.appView.requests.count
        #expect(try await server.query("app.bsky.feed.getTimeline").status == 401)
        #expect(setup.appView.requests.count == count)
        await setup.stop()
    }

    @Test func chatOzoneAndReportsAreForwardedAndSlowServicesTimeOut() async throws {
        let setup = try await Setup.start {
            $0.allowPrivateOutbound = true  // the service's did:web document points to loopback
        }
        defer { Task { await setup.stop() } }
        let server = setup.server
        let alice = try await server.createAccount("alice")
        let proxy = "\(setup.appView.did)#bsky_appview"
        let auth = "Bearer \(alice.accessJwt)"

        // chat.bsky.* goes to the default AppView without a header, and to the named service with one.
        let chat = try await server.request("GET", "/xrpc/chat.bsky.convo.listConvos", headers: ["Authorization": auth])
        #expect(chat.status == 200, "\(chat.text)")
        #expect(setup.appView.requests.last?.claims?.lxm == "chat.bsky.convo.listConvos")
        #expect(setup.appView.requests.last?.claims?.aud == "did:web:appview.test")
        let named = try await server.request(
            "GET", "/xrpc/chat.bsky.convo.getLog", headers: ["Authorization": auth, "atproto-proxy": proxy])
        #expect(named.status == 200, "\(named.text)")
        #expect(setup.appView.requests.last?.claims?.aud == setup.appView.did)

        // Moderation goes only where the header says (there is no default moderation service).
        let report: DataValue = [
            "reasonType": "com.atproto.moderation.defs#reasonSpam", "subject": ["$type": "com.atproto.admin.defs#repoRef", "did": .string(alice.did)],
        ]
        let count = setup.appView.requests.count
        let unnamed = try await server.procedure("com.atproto.moderation.createReport", report, token: alice.accessJwt)
        #expect(unnamed.status == 400 && unnamed.error == "InvalidRequest", "\(unnamed.text)")
        let ozoneUnnamed = try await server.request("GET", "/xrpc/tools.ozone.moderation.queryStatuses", headers: ["Authorization": auth])
        #expect(ozoneUnnamed.status == 400, "\(ozoneUnnamed.text)")
        #expect(setup.appView.requests.count == count)
        let reported = try await server.request(
            "POST", "/xrpc/com.atproto.moderation.createReport", body: ATProtoJSON.encode(report), contentType: "application/json",
            headers: ["Authorization": auth, "atproto-proxy": proxy])
        #expect(reported.status == 200, "\(reported.text)")
        let received = try #require(setup.appView.requests.last)
        #expect(received.failure == nil && received.claims?.lxm == "com.atproto.moderation.createReport")
        #expect(String(decoding: received.body, as: UTF8.self).contains("reasonSpam"))
        let ozone = try await server.request(
            "GET", "/xrpc/tools.ozone.moderation.queryStatuses", query: [("limit", "3")], headers: ["Authorization": auth, "atproto-proxy": proxy])
        #expect(ozone.status == 200, "\(ozone.text)")
        #expect(setup.appView.requests.last?.claims?.lxm == "tools.ozone.moderation.queryStatuses")
        #expect(setup.appView.requests.last?.query == "limit=3")

        // A service slower than proxyTimeoutSeconds (the double answers
        // after 6 s): 504 well before, and the server answers on.
        let impatient = try await setup.startServer { $0.proxyTimeoutSeconds = 2 }
        defer { Task { await impatient.stop() } }
        let bob = try await impatient.createAccount("bobby")
        let started = ContinuousClock.now
        let slow = try await impatient.request("GET", "/xrpc/\(FakeAppView.slowMethod)", headers: ["Authorization": "Bearer \(bob.accessJwt)"])
        #expect(slow.status == 504 && slow.error == "UpstreamTimeout", "\(slow.status) \(slow.text)")
        #expect(ContinuousClock.now - started < .seconds(5))
        #expect(try await impatient.query("app.bsky.feed.getTimeline", token: bob.accessJwt).status == 200)
    }

    /// Accounts with P-256 keys sign their service tokens with ES256, and
    /// the receiving service verifies them against the DID document.
    @Test func p256AccountsSignServiceTokensWithES256() async throws {
        let setup = try await Setup.start { $0.signingKeyType = .p256 }
        defer { Task { await setup.stop() } }
        let alice = try await setup.server.createAccount("alice")
        let reply = try await setup.server.query("app.bsky.feed.getTimeline", token: alice.accessJwt)
        #expect(reply.status == 200, "\(reply.text)")
        let received = try #require(setup.appView.requests.last)
        #expect(received.failure == nil, "\(received.failure ?? "")")
        let token = try #require(received.headers["authorization"].map { String($0.dropFirst("Bearer ".count)) })
        #expect(try JWT.decodeUnverified(token).header.alg == "ES256")

        let minted = try await setup.server.query(
            "com.atproto.server.getServiceAuth", [("aud", "did:web:video.test"), ("lxm", "com.atproto.repo.uploadBlob")], token: alice.accessJwt)
        let serviceToken = try #require(minted["token"]?.stringValue)
        #expect(try JWT.decodeUnverified(serviceToken).header.alg == "ES256")
        let account = try #require(try await setup.server.services.accounts.account(did: try DID(alice.did)))
        #expect(account.signingKey.publicKey.type == .p256)
        #expect(try JWT.verify(serviceToken, key: account.signingKey.publicKey, expectedAudience: "did:web:video.test").iss == alice.did)
    }

    @Test func methodsRegisteredByAnExtensionWinOverTheProxy() async throws {
        let plc = try await FakePLCDirectory()
        defer { plc.stop() }
        let appView = try await FakeAppView(plcURL: plc.url)
        defer { appView.stop() }
        let server = try await TestServer.start({
            $0.plcDirectoryURL = plc.url
            $0.appViewURL = appView.url
            $0.appViewDID = "did:web:appview.test"
        }, extensions: { _ in
            [PDSExtension(methods: { methods in
                methods.query("app.bsky.feed.getFeedSkeleton") { _ in .json(["feed": [], "servedBy": "extension"]) }
            })]
        })
        defer { Task { await server.stop() } }
        let alice = try await server.createAccount("alice")
        let local = try await server.query("app.bsky.feed.getFeedSkeleton", [("feed", "at://x/app.bsky.feed.generator/y")])
        #expect(local["servedBy"]?.stringValue == "extension")
        #expect(try await server.query("app.bsky.feed.getTimeline", token: alice.accessJwt)["servedBy"]?.stringValue == "fake-appview")
        #expect(appView.requests.map(\.nsid) == ["app.bsky.feed.getTimeline"])
    }

    @Test func protectedAndPrivilegedMethodsAreRefused() async throws {
        let setup = try await Setup.start()
        let server = setup.server
        let alice = try await server.createAccount("alice")
        let proxy = ["Authorization": "Bearer \(alice.accessJwt)", "atproto-proxy": "did:web:appview.test#bsky_appview"]
        // Account management is served here even when a request names
        // another service: the AppView never sees it.
        for nsid in ["com.atproto.server.updateEmail", "com.atproto.server.requestEmailUpdate", "com.atproto.admin.sendEmail"] {
            let reply = try await server.request("POST", "/xrpc/" + nsid, body: Array("{}".utf8), contentType: "application/json", headers: proxy)
            #expect([200, 400, 401].contains(reply.status) && reply.error != "MethodNotImplemented", "\(nsid): \(reply.status) \(reply.text)")
        }
        #expect(setup.appView.requests.isEmpty)
        let appPassword = try await server.procedure("com.atproto.server.createAppPassword", ["name": "phone"], token: alice.accessJwt)
        let password = try #require(appPassword["password"]?.stringValue)
        let login = try await server.login(alice.did, password)
        let appToken = try #require(login["accessJwt"]?.stringValue)
        let chat = try await server.request(
            "GET", "/xrpc/chat.bsky.convo.listConvos",
            headers: ["Authorization": "Bearer \(appToken)", "atproto-proxy": "did:web:appview.test#bsky_appview"])
        #expect(chat.status == 400 && chat.error == "InvalidToken")
        #expect(setup.appView.requests.isEmpty)
        // The same app password may read the timeline.
        #expect(try await server.query("app.bsky.feed.getTimeline", token: appToken).status == 200)
        // getServiceAuth refuses protected methods, and privileged ones to app passwords.
        let protected = try await server.query(
            "com.atproto.server.getServiceAuth", [("aud", "did:web:appview.test"), ("lxm", "com.atproto.server.updateEmail")], token: alice.accessJwt)
        #expect(protected.status == 400)
        let privileged = try await server.query(
            "com.atproto.server.getServiceAuth", [("aud", "did:web:appview.test"), ("lxm", "chat.bsky.convo.listConvos")], token: appToken)
        #expect(privileged.status == 400)
        await setup.stop()
    }

    @Test func proxyTargetsAreResolvedAndPrivateOnesRefused() async throws {
        let setup = try await Setup.start()
        defer { Task { await setup.stop() } }
        // A server without an AppView: the did:web of the AppView double is on loopback.
        let strict = try await TestServer.start { $0.plcDirectoryURL = setup.plc.url }
        defer { Task { await strict.stop() } }
        let alice = try await strict.createAccount("alice")
        let noAppView = try await strict.query("app.bsky.feed.getTimeline", token: alice.accessJwt)
        #expect(noAppView.status == 501 && noAppView.error == "MethodNotImplemented", "\(noAppView.text)")
        #expect(noAppView.text.contains("appViewURL"))
        for target in ["\(setup.appView.did)#bsky_appview", "did:web:10.0.0.1#bsky_appview", "did:web:169.254.169.254#bsky_appview",
                       "did:web:127.0.0.1#bsky_appview"] {
            let reply = try await strict.request(
                "GET", "/xrpc/app.bsky.feed.getTimeline", headers: ["Authorization": "Bearer \(alice.accessJwt)", "atproto-proxy": target])
            #expect(reply.status == 400 && reply.text.contains("non-public address"), "\(target): \(reply.status) \(reply.text)")
        }
        for bad in ["did:web:appview.test", "#bsky_appview", "not a did#x", "did:web:a#b#c"] {
            let reply = try await strict.request(
                "GET", "/xrpc/app.bsky.feed.getTimeline", headers: ["Authorization": "Bearer \(alice.accessJwt)", "atproto-proxy": bad])
            #expect(reply.status == 400, "\(bad): \(reply.status) \(reply.text)")
        }
        #expect(setup.appView.requests.isEmpty)

        // Allowed to reach loopback, the header's DID is resolved to its service endpoint.
        let open = try await TestServer.start {
            $0.plcDirectoryURL = setup.plc.url
            $0.allowPrivateOutbound = true
        }
        defer { Task { await open.stop() } }
        let bob = try await open.createAccount("bobby")
        let reply = try await open.request(
            "GET", "/xrpc/app.bsky.actor.getProfile", query: [("actor", bob.did)],
            headers: ["Authorization": "Bearer \(bob.accessJwt)", "atproto-proxy": "\(setup.appView.did)#bsky_appview"])
        #expect(reply.status == 200, "\(reply.text)")
        #expect(setup.appView.requests.last?.claims?.aud == setup.appView.did)
        #expect(setup.appView.requests.last?.failure == nil)
        let missing = try await open.request(
            "GET", "/xrpc/app.bsky.actor.getProfile", headers: ["Authorization": "Bearer \(bob.accessJwt)", "atproto-proxy": "\(setup.appView.did)#nothing"])
        #expect(missing.status == 400 && missing.text.contains("service url"))
    }

    @Test func getFeedAddressesTheFeedGenerator() async throws {
        let owner = "did:plc:feedownerfeedownerfeedown"
        let setup = try await Setup.start(feedGenerators: ["\(owner)/hot": "did:web:feeds.example.com"])
        let server = setup.server
        let alice = try await server.createAccount("alice")
        let reply = try await server.query("app.bsky.feed.getFeed", [("feed", "at://\(owner)/app.bsky.feed.generator/hot")], token: alice.accessJwt)
        #expect(reply.status == 200, "\(reply.text)")
        let received = try #require(setup.appView.requests.last)
        #expect(received.nsid == "app.bsky.feed.getFeed")
        #expect(received.claims?.aud == "did:web:feeds.example.com")
        #expect(received.claims?.lxm == "app.bsky.feed.getFeedSkeleton")
        #expect(received.failure == nil)

        // A generator record in a local repository is read here.
        let created = try await server.procedure(
            "com.atproto.repo.createRecord",
            ["repo": .string(alice.did), "collection": "app.bsky.feed.generator", "rkey": "mine",
             "record": ["$type": "app.bsky.feed.generator", "did": "did:web:local-feeds.example.com", "displayName": "Mine",
                        "createdAt": .string(ATDatetime.now().string)]], token: alice.accessJwt)
        #expect(created.status == 200, "\(created.text)")
        let local = try await server.query("app.bsky.feed.getFeed", [("feed", "at://\(alice.did)/app.bsky.feed.generator/mine")], token: alice.accessJwt)
        #expect(local.status == 200)
        #expect(setup.appView.requests.last?.claims?.aud == "did:web:local-feeds.example.com")

        let count = setup.appView.requests.count
        let unknown = try await server.query("app.bsky.feed.getFeed", [("feed", "at://\(owner)/app.bsky.feed.generator/nope")], token: alice.accessJwt)
        #expect(unknown.status == 400 && unknown.error == "UnknownFeed")
        let malformed = try await server.query("app.bsky.feed.getFeed", [("feed", "https://example.com/feed")], token: alice.accessJwt)
        #expect(malformed.status == 400 && malformed.error == "InvalidRequest")
        #expect(setup.appView.requests.count == count)
        await setup.stop()
    }

    @Test func getServiceAuthTokensAndUploadsOnTheUsersBehalf() async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let alice = try await server.createAccount("alice")
        let account = try #require(try await server.services.accounts.account(did: try DID(alice.did)))
        let serviceDID = server.services.config.resolvedServiceDID
        func serviceAuth(_ params: [(String, String)]) async throws -> TestServer.Reply {
            try await server.query("com.atproto.server.getServiceAuth", params, token: alice.accessJwt)
        }
        let reply = try await serviceAuth([("aud", serviceDID), ("lxm", "com.atproto.repo.uploadBlob")])
        #expect(reply.status == 200, "\(reply.text)")
        let token = try #require(reply["token"]?.stringValue)
        let claims = try JWT.verify(token, key: account.signingKey.publicKey, expectedAudience: serviceDID, expectedType: "JWT")
        #expect(claims.iss == alice.did && claims.lxm == "com.atproto.repo.uploadBlob")
        #expect(try #require(claims.exp) <= Int(Date().timeIntervalSince1970) + 60)

        let now = Int(Date().timeIntervalSince1970)
        #expect(try await serviceAuth([("aud", serviceDID), ("exp", String(now + 7200)), ("lxm", "app.bsky.feed.getTimeline")]).error == "BadExpiration")
        #expect(try await serviceAuth([("aud", serviceDID), ("exp", String(now + 300))]).error == "BadExpiration")
        #expect(try await serviceAuth([("aud", serviceDID), ("exp", String(now - 10))]).error == "BadExpiration")
        #expect(try await serviceAuth([("aud", "not-a-did")]).status == 400)
        let long = try await serviceAuth([("aud", serviceDID), ("exp", String(now + 1800)), ("lxm", "com.atproto.repo.uploadBlob")])
        #expect(long.status == 200)

        // The video service's flow: upload with the user's service token.
        let bytes = Array("hello video service".utf8)
        let upload = try await server.request(
            "POST", "/xrpc/com.atproto.repo.uploadBlob", body: bytes, contentType: "text/plain", headers: ["Authorization": "Bearer \(token)"])
        #expect(upload.status == 200, "\(upload.text)")
        #expect(try await server.count("SELECT COUNT(*) FROM blob_ref WHERE did = ?", [alice.did]) == 1)
        // Tokens for another method or another audience are refused.
        let other = try #require(try await serviceAuth([("aud", serviceDID), ("lxm", "com.atproto.repo.createRecord")])["token"]?.stringValue)
        let elsewhere = try #require(try await serviceAuth([("aud", "did:web:video.example.com"), ("lxm", "com.atproto.repo.uploadBlob")])["token"]?.stringValue)
        for bad in [other, elsewhere, token.dropLast(4) + "AAAA"] {
            let refused = try await server.request(
                "POST", "/xrpc/com.atproto.repo.uploadBlob", body: Array("other".utf8), contentType: "text/plain",
                headers: ["Authorization": "Bearer \(bad)"])
            #expect(refused.status == 401, "\(refused.text)")
        }
        #expect(try await server.count("SELECT COUNT(*) FROM blob_ref WHERE did = ?", [alice.did]) == 1)
    }

    @Test func preferencesAreStoredAndPersonalDetailsNeedAFullSession() async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let alice = try await server.createAccount("alice")
        let empty = try await server.query("app.bsky.actor.getPreferences", token: alice.accessJwt)
        #expect(empty["preferences"] == [])
        let preferences: DataValue = [
            ["$type": "app.bsky.actor.defs#adultContentPref", "enabled": false],
            ["$type": "app.bsky.actor.defs#personalDetailsPref", "birthDate": "1990-01-01T00:00:00.000Z"],
        ]
        #expect(try await server.procedure("app.bsky.actor.putPreferences", ["preferences": preferences], token: alice.accessJwt).status == 200)
        #expect(try await server.query("app.bsky.actor.getPreferences", token: alice.accessJwt)["preferences"] == preferences)

        let appPassword = try await server.procedure("com.atproto.server.createAppPassword", ["name": "phone"], token: alice.accessJwt)
        let password = try #require(appPassword["password"]?.stringValue)
        let appToken = try #require(try await server.login(alice.did, password)["accessJwt"]?.stringValue)
        let limited = try await server.query("app.bsky.actor.getPreferences", token: appToken)
        #expect(limited["preferences"] == [["$type": "app.bsky.actor.defs#adultContentPref", "enabled": false]])
        let forbidden = try await server.procedure("app.bsky.actor.putPreferences", ["preferences": preferences], token: appToken)
        #expect(forbidden.status == 400)
        // An app password replaces the other preferences and keeps the personal details.
        let saved: DataValue = [["$type": "app.bsky.actor.defs#savedFeedsPrefV2", "items": []]]
        #expect(try await server.procedure("app.bsky.actor.putPreferences", ["preferences": saved], token: appToken).status == 200)
        let full = try await server.query("app.bsky.actor.getPreferences", token: alice.accessJwt)
        #expect(full["preferences"]?.arrayValue?.count == 2)
        #expect(full["preferences"]?[1]?["$type"]?.stringValue == "app.bsky.actor.defs#personalDetailsPref")

        // Bad inputs change nothing.
        for bad: DataValue in [["preferences": [["enabled": true]]], ["preferences": [["$type": "com.example.pref"]]], ["preferences": "x"]] {
            #expect(try await server.procedure("app.bsky.actor.putPreferences", bad, token: alice.accessJwt).status == 400)
        }
        #expect(try await server.query("app.bsky.actor.getPreferences", token: alice.accessJwt) .json == full.json)
        #expect(try await server.query("app.bsky.actor.getPreferences").status == 401)
    }
}
