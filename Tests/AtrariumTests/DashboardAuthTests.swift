import ATCrypto
import ATProto
import Atrarium
import FeedGen
import Foundation
import PDSTestSupport
import Testing

@testable import PDS

/// Who may call the dashboard API, what bad input does (400, nothing
/// written), callers whose repository is elsewhere, and rate limits.
@Suite("Atrarium dashboard API: auth, validation, limits")
struct DashboardAuthTests {
    @Test func missingForgedAndServiceTokens() async throws {
        let remoteKey = PrivateKey.generate(.secp256k1)
        let remoteDID = "did:plc:remoteuser2222222222222a"
        let (server, _) = try await TestServer.startWithDashboard(remote: [remoteDID: remoteKey.publicKey])
        defer { Task { await server.stop() } }
        let owner = try await server.createAccount("owner")
        let create = #"{"name": "Herons"}"#

        let none = try await server.api("POST", "/api/communities", create, token: nil)
        #expect(none.status == 401 && none.error == "AuthenticationRequired" && none["message"]?.stringValue != nil)
        #expect(try await server.api("GET", "/api/communities", token: "not-a-jwt").status == 401)
        // An access token with its signature altered.
        var forged = owner.accessJwt
        forged.removeLast(4)
        forged += forged.hasSuffix("AAAA") ? "BBBB" : "AAAA"
        #expect(try await server.api("POST", "/api/communities", create, token: forged).status == 401)
        // A service token signed by a key that is not the issuer's.
        let stranger = PrivateKey.generate(.secp256k1)
        let wrongKey = try server.serviceToken(iss: owner.did, key: stranger)
        #expect(try await server.api("POST", "/api/communities", create, token: wrongKey).status == 401)
        // Wrong audience, wrong method, expired.
        let ownerKey = try #require(try await server.services.accounts.account(did: try DID(owner.did))?.signingKey)
        #expect(try await server.api("GET", "/api/communities", token: try server.serviceToken(iss: owner.did, key: ownerKey, aud: "did:web:elsewhere.test")).status == 401)
        #expect(try await server.api("GET", "/api/communities", token: try server.serviceToken(iss: owner.did, key: ownerKey, lxm: "app.bsky.feed.getFeedSkeleton")).status == 401)
        #expect(try await server.api("GET", "/api/communities", token: try server.serviceToken(iss: owner.did, key: ownerKey, exp: -120)).status == 401)
        #expect(try await server.atrariumRecords(owner.did).isEmpty)

        // A valid service token of a local account writes to its repository.
        let byService = try await server.api("POST", "/api/communities", create, token: try server.serviceToken(iss: owner.did, key: ownerKey))
        #expect(byService.status == 201, "\(byService.text)")
        let id = try #require(byService["community"]?["id"]?.stringValue)
        #expect(try await server.atrariumRecords(owner.did).count == 2)

        // An account on another PDS gets the records to write itself.
        let remoteToken = try server.serviceToken(iss: remoteDID, key: remoteKey)
        let join = try await server.api("POST", "/api/communities/\(id)/members", nil, token: remoteToken)
        #expect(join.status == 202 && join["write"] == "client" && join["repo"]?.stringValue == remoteDID, "\(join.text)")
        let write = try #require(join["writes"]?.arrayValue?.first)
        #expect(write["$type"] == "com.atproto.repo.applyWrites#create" && write["collection"]?.stringValue == AtrariumRecords.membership.string)
        #expect(write["value"]?["community"]?.stringValue == byService["uri"]?.stringValue)
        try AtrariumRecords.validate(try #require(write["value"]), collection: AtrariumRecords.membership)
        let remoteCreate = try await server.api("POST", "/api/communities", create, token: remoteToken)
        #expect(remoteCreate.status == 202 && remoteCreate["writes"]?.arrayValue?.count == 2)
        // Reading works for it as for anyone.
        #expect(try await server.api("GET", "/api/communities/\(id)", token: remoteToken).status == 200)
        #expect(try await server.api("GET", "/api/communities/ffffffff", token: remoteToken).status == 404)
    }

    @Test func badInputAnswers400AndLeavesNoRecord() async throws {
        let (server, _) = try await TestServer.startWithDashboard()
        defer { Task { await server.stop() } }
        let owner = try await server.createAccount("owner")
        let bad = [
            #"{"name": "Mix", "feedMix": {"own": 60, "parent": 30, "global": 0}}"#,
            #"{"name": "Mix", "feedMix": {"own": 0.5, "parent": 0.3, "global": 0.1}}"#,
            #"{"name": "Mix", "feedMix": {"own": 50.5, "parent": 49.5, "global": 0}}"#,
            #"{"name": "Mix", "feedMix": {"own": -1, "parent": 101, "global": 0}}"#,
            #"{"name": "Mix", "feedMix": {"own": "all"}}"#,
            #"{"name": "Mix", "feedMix": {"own": 100, "extra": 0}}"#,
            #"{"name": "Mix", "stage": "secret"}"#,
            #"{"name": "Mix", "accessType": "closed"}"#,
            #"{"name": "Mix", "moderators": ["not a did"]}"#,
            #"{"name": "Mix", "parentCommunity": "nope"}"#,
            #"{"name": "", "feedMix": {"own": 100}}"#,
            #"{"name": 5}"#,
            #"{"description": "no name"}"#,
            #"{"name": "Mix", "owner": "did:plc:someoneelse"}"#,
            #"[1, 2]"#,
            #"{"name": "#,
        ]
        for body in bad {
            let reply = try await server.api("POST", "/api/communities", body, token: owner.accessJwt)
            #expect(reply.status == 400, "\(body) → \(reply.status) \(reply.text)")
            #expect(reply.error != nil && reply["message"]?.stringValue != nil)
        }
        #expect(try await server.atrariumRecords(owner.did).isEmpty)

        // Fractions summing to 1 become percentages.
        let fractions = try await server.api(
            "POST", "/api/communities", #"{"name": "Mix", "feedMix": {"own": 0.5, "parent": 0.25, "global": 0.25}}"#, token: owner.accessJwt)
        #expect(fractions.status == 201, "\(fractions.text)")
        let id = try #require(fractions["community"]?["id"]?.stringValue)
        let stored = try await server.records(owner.did, AtrariumRecords.config.string).first?["value"]?["feedMix"]
        #expect(stored?["own"]?.intValue == 50 && stored?["parent"]?.intValue == 25 && stored?["global"]?.intValue == 25)
        let thirds = try await server.api(
            "PUT", "/api/communities/\(id)", #"{"feedMix": {"own": 0.3333333333, "parent": 0.3333333333, "global": 0.3333333334}}"#,
            token: owner.accessJwt)
        let mix = thirds["community"]?["feedMix"]
        #expect(thirds.status == 200 && (mix?["own"]?.intValue ?? 0) + (mix?["parent"]?.intValue ?? 0) + (mix?["global"]?.intValue ?? 0) == 100)

        // Bad updates change nothing.
        let before = try await server.records(owner.did, AtrariumRecords.config.string).first?["cid"]
        for body in [#"{"feedMix": {"own": 99}}"#, #"{"stage": "nope"}"#, #"{"name": null}"#, #"{"moderators": "x"}"#, ##"{"hashtag": "#atrarium_00000000"}"##] {
            let reply = try await server.api("PUT", "/api/communities/\(id)", body, token: owner.accessJwt)
            #expect(reply.status == 400, "\(body) → \(reply.status) \(reply.text)")
        }
        #expect(try await server.records(owner.did, AtrariumRecords.config.string).first?["cid"] == before)
        #expect(try await server.atrariumRecords(owner.did).count == 2)
        // Bad moderation input, too.
        for body in [
            #"{"community": "\#(id)", "action": "nuke"}"#, #"{"community": "\#(id)", "action": "hide_post"}"#,
            #"{"community": "\#(id)", "action": "block_user", "user": "nobody"}"#,
            #"{"community": "\#(id)", "action": "hide_post", "post": "at://did:plc:x/app.bsky.feed.post/3k"}"#,
        ] {
            let reply = try await server.api("POST", "/api/moderation/actions", body, token: owner.accessJwt)
            #expect(reply.status == 400, "\(body) → \(reply.status) \(reply.text)")
        }
        #expect(try await server.records(owner.did, AtrariumRecords.moderationAction.string).isEmpty)
    }

    @Test func rateLimitsPerUserWithRetryAfter() async throws {
        var limits = DashboardConfig()
        limits.requestsPerHour = 3
        limits.feedRequestsPerHour = 2
        let (server, _) = try await TestServer.startWithDashboard(limits)
        defer { Task { await server.stop() } }
        let alice = try await server.createAccount("alice")
        let bob = try await server.createAccount("bob")
        for _ in 0..<3 { #expect(try await server.api("GET", "/api/communities", token: alice.accessJwt).status == 200) }
        let limited = try await server.api("GET", "/api/communities", token: alice.accessJwt)
        #expect(limited.status == 429 && limited.error == "RateLimitExceeded")
        #expect(Int(limited.headers["retry-after"] ?? "") ?? 0 >= 1)
        // Another user has its own budget; feed reads have theirs.
        #expect(try await server.api("GET", "/api/communities", token: bob.accessJwt).status == 200)
        let created = try await server.api("POST", "/api/communities", #"{"name": "Feed"}"#, token: bob.accessJwt)
        let id = try #require(created["community"]?["id"]?.stringValue)
        for _ in 0..<2 { #expect(try await server.api("GET", "/api/communities/\(id)/feed", token: alice.accessJwt).status == 200) }
        let feedLimited = try await server.api("GET", "/api/communities/\(id)/feed", token: alice.accessJwt)
        #expect(feedLimited.status == 429 && feedLimited.headers["retry-after"] != nil)
    }

    /// The limits' defaults (the design's 1,000 and 100 an hour), then a
    /// config file's `dashboard` object, then `PDS_DASHBOARD_*` variables.
    @Test func limitsComeFromDefaultsFileAndEnvironment() throws {
        let defaults = try DashboardConfig.load(file: nil, environment: [:])
        #expect(defaults.requestsPerHour == 1000 && defaults.feedRequestsPerHour == 100 && defaults.enabled)

        let file = FileManager.default.temporaryDirectory.appendingPathComponent("dashboard-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: file) }
        try Data(#"{"hostname": "pds.example.com", "dashboard": {"requestsPerHour": 250}}"#.utf8).write(to: file)
        let fromFile = try DashboardConfig.load(file: file.path, environment: [:])
        #expect(fromFile.requestsPerHour == 250 && fromFile.feedRequestsPerHour == 100)
        let fromBoth = try DashboardConfig.load(file: file.path, environment: ["PDS_DASHBOARD_FEED_REQUESTS_PER_HOUR": "40"])
        #expect(fromBoth.requestsPerHour == 250 && fromBoth.feedRequestsPerHour == 40)
        let overridden = try DashboardConfig.load(file: file.path, environment: ["PDS_DASHBOARD_REQUESTS_PER_HOUR": "7"])
        #expect(overridden.requestsPerHour == 7)

        for (name, value) in [("PDS_DASHBOARD_REQUESTS_PER_HOUR", "many"), ("PDS_DASHBOARD_REQUESTS_PER_HOUR", "0"),
                              ("PDS_DASHBOARD_FEED_REQUESTS_PER_HOUR", "-5")] {
            #expect(throws: DashboardConfig.ConfigError.self, "\(name)=\(value)") {
                try DashboardConfig.load(file: nil, environment: [name: value])
            }
        }
    }
}

