import ATProto
import FeedGen
import Foundation
import PDSTestSupport
import Testing

@testable import PDS

/// The PDS validates `net.atrarium.*` records against the bundled Lexicons
/// on write.
@Suite("Atrarium lexicons on createRecord")
struct AtrariumLexiconTests {
    static func config(_ changes: (inout DataMap) -> Void = { _ in }) -> DataValue {
        var map: DataMap = [
            "$type": "net.atrarium.community.config", "name": "Herons", "hashtag": "#atrarium_1a2b3c4d", "stage": "theme",
            "accessType": "open", "createdAt": "2026-11-23T10:00:00.000Z",
            "feedMix": ["own": 80, "parent": 15, "global": 5],
        ]
        changes(&map)
        return .map(map)
    }

    func create(_ server: TestServer, _ session: TestServer.Session, _ collection: String, _ record: DataValue) async throws -> TestServer.Reply {
        try await server.procedure(
            "com.atproto.repo.createRecord", ["repo": .string(session.did), "collection": .string(collection), "record": record],
            token: session.accessJwt)
    }

    /// With the feed generator running, a config is also checked for what
    /// its Lexicon cannot say: the hashtag's exact form and feedMix's sum.
    @Test func theFeedGeneratorsRulesApplyAtWriteTime() async throws {
        let (server, _) = try await TestServer.startWithFeedGen()
        defer { Task { await server.stop() } }
        let alice = try await server.createAccount("alice")
        let refused: [(String, DataValue)] = [
            ("hashtag not hex", Self.config { $0["hashtag"] = "#atrarium_ZZZZZZZZ" }),
            ("hashtag in capitals", Self.config { $0["hashtag"] = "#atrarium_1A2B3C4D" }),
            ("feedMix summing to 70", Self.config { $0["feedMix"] = ["own": 50, "parent": 0, "global": 20] }),
        ]
        for (why, record) in refused {
            let reply = try await create(server, alice, "net.atrarium.community.config", record)
            #expect(reply.status == 400 && reply.error == "InvalidRequest", "\(why): \(reply.status) \(reply.text)")
        }
        #expect(try await server.count("SELECT COUNT(*) FROM record WHERE did = ?", [alice.did]) == 0)
        let ok = try await create(server, alice, "net.atrarium.community.config", Self.config { $0["feedMix"] = ["own": 80, "parent": 15, "global": 5] })
        #expect(ok.status == 200 && ok["validationStatus"]?.stringValue == "valid", "\(ok.text)")
    }

    @Test func validRecordsAreAcceptedAndInvalidOnesRefused() async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let alice = try await server.createAccount("alice")
        let ok = try await create(server, alice, "net.atrarium.community.config", Self.config())
        #expect(ok.status == 200 && ok["validationStatus"]?.stringValue == "valid", "\(ok.text)")
        let community = try #require(ok["uri"]?.stringValue)
        // A config as the Atrarium client writes it: no accessType (optional
        // in the published schema), an updatedAt, a tid record key.
        let published = try await create(
            server, alice, "net.atrarium.community.config",
            Self.config { $0["accessType"] = nil; $0["updatedAt"] = "2026-11-24T10:00:00.000Z"; $0["hashtag"] = "#atrarium_5e6f7a8b" })
        #expect(published.status == 200 && published["validationStatus"]?.stringValue == "valid", "\(published.text)")

        let invalidConfigs: [(String, DataValue)] = [
            ("name over 100 graphemes", Self.config { $0["name"] = .string(String(repeating: "é", count: 101)) }),
            ("description over 1,000 graphemes", Self.config { $0["description"] = .string(String(repeating: "x", count: 1001)) }),
            ("1,001 blocked accounts", Self.config { $0["blocklist"] = .array((0..<1001).map { .string("did:plc:b\(String(format: "%023d", $0))") }) }),
            ("updatedAt not a datetime", Self.config { $0["updatedAt"] = "yesterday" }),
            ("unknown stage", Self.config { $0["stage"] = "archived" }),
            ("unknown access type", Self.config { $0["accessType"] = "secret" }),
            ("fractional feedMix", Self.config { $0["feedMix"] = ["own": 80, "parent": 15, "global": "5"] }),
            ("feedMix over 100", Self.config { $0["feedMix"] = ["own": 101, "parent": 0, "global": 0] }),
            ("51 moderators", Self.config { $0["moderators"] = .array((0..<51).map { .string("did:plc:m\(String(format: "%023d", $0))") }) }),
            ("parent not an at-uri", Self.config { $0["parentCommunity"] = "https://example.com" }),
            ("hashtag over 20 characters", Self.config { $0["hashtag"] = "#atrarium_1a2b3c4d5e6f" }),
            ("no createdAt", Self.config { $0["createdAt"] = nil }),
        ]
        for (why, record) in invalidConfigs {
            let reply = try await create(server, alice, "net.atrarium.community.config", record)
            #expect(reply.status == 400 && reply.error == "InvalidRequest", "\(why): \(reply.status) \(reply.text)")
        }

        let membership: DataValue = [
            "$type": "net.atrarium.community.membership", "community": .string(community), "role": "member", "status": "pending",
            "joinedAt": "2026-11-23T10:00:00.000Z", "active": true,
        ]
        #expect(try await create(server, alice, "net.atrarium.community.membership", membership).status == 200)
        // The published schema's minimum: no status, no active flag.
        let minimal: DataValue = [
            "$type": "net.atrarium.community.membership", "community": .string(community), "role": "member",
            "joinedAt": "2026-11-23T10:00:00.000Z", "customTitle": "Heron watcher",
        ]
        #expect(try await create(server, alice, "net.atrarium.community.membership", minimal).status == 200)
        var badRole = membership.mapValue!
        badRole["role"] = "admin"
        #expect(try await create(server, alice, "net.atrarium.community.membership", .map(badRole)).status == 400)
        var badStatus = membership.mapValue!
        badStatus["status"] = "banned"
        #expect(try await create(server, alice, "net.atrarium.community.membership", .map(badStatus)).status == 400)

        let hide: DataValue = [
            "$type": "net.atrarium.moderation.action", "action": "hide_post", "community": .string(community),
            "target": ["$type": "com.atproto.repo.strongRef", "uri": .string(community), "cid": .string(ok["cid"]!.stringValue!)],
            "reason": "spam", "createdAt": "2026-11-23T10:00:00.000Z",
        ]
        #expect(try await create(server, alice, "net.atrarium.moderation.action", hide).status == 200)
        var badAction = hide.mapValue!
        badAction["action"] = "delete_everything"
        #expect(try await create(server, alice, "net.atrarium.moderation.action", .map(badAction)).status == 400)
        // The published form of a post target, and a published reason.
        var publishedHide = hide.mapValue!
        publishedHide["target"] = ["$type": "net.atrarium.moderation.action#postTarget", "uri": .string(community), "cid": .string(ok["cid"]!.stringValue!)]
        publishedHide["reason"] = "wrong_community"
        #expect(try await create(server, alice, "net.atrarium.moderation.action", .map(publishedHide)).status == 200)
        var badPostTarget = publishedHide
        badPostTarget["target"] = ["$type": "net.atrarium.moderation.action#postTarget", "uri": .string(community), "cid": "not-a-cid"]
        #expect(try await create(server, alice, "net.atrarium.moderation.action", .map(badPostTarget)).status == 400)
        var badTarget = hide.mapValue!
        badTarget["target"] = ["$type": "net.atrarium.moderation.action#userTarget", "did": "not-a-did"]
        #expect(try await create(server, alice, "net.atrarium.moderation.action", .map(badTarget)).status == 400)

        let approval: DataValue = [
            "$type": "net.atrarium.community.approval", "community": .string(community), "member": .string(alice.did),
            "createdAt": "2026-11-23T10:00:00.000Z",
        ]
        #expect(try await create(server, alice, "net.atrarium.community.approval", approval).status == 200)
        var badApproval = approval.mapValue!
        badApproval["member"] = "alice"
        #expect(try await create(server, alice, "net.atrarium.community.approval", .map(badApproval)).status == 400)
    }

    /// The Atrarium client's own way: every record written with
    /// `createRecord` in the published shapes (a tid-keyed config without
    /// accessType, a membership without status or active, a `#postTarget`
    /// action with a published reason); the index counts each of them.
    @Test func recordsInThePublishedFormCountInTheIndex() async throws {
        let (server, _) = try await TestServer.startWithFeedGen()
        defer { Task { await server.stop() } }
        let owner = try await server.createAccount("owner")
        let alice = try await server.createAccount("alice")
        let id = "7c0ffee1"
        let config = try await server.createRecord(
            owner, "net.atrarium.community.config",
            [
                "$type": "net.atrarium.community.config", "name": "Herons", "hashtag": .string("#atrarium_" + id), "stage": "theme",
                "createdAt": .string(ATDatetime.now().string), "updatedAt": .string(ATDatetime.now().string),
            ])
        #expect(try RecordKey(String(config.uri.split(separator: "/").last!)).string.count == 13, "a tid key, as the Atrarium client writes")
        _ = try await server.createRecord(
            alice, "net.atrarium.community.membership",
            [
                "$type": "net.atrarium.community.membership", "community": .string(config.uri), "role": "member",
                "joinedAt": .string(ATDatetime.now().string),
            ])
        let post = try await server.createRecord(
            alice, "app.bsky.feed.post",
            ["$type": "app.bsky.feed.post", "text": .string("a heron #atrarium_\(id)"), "createdAt": .string(ATDatetime.now().string)])
        let feed = FeedGenerator.feedURI(communityID: id, owner: try DID(owner.did))
        #expect(try await server.awaitFeed(feed, [post.uri]) == [post.uri], "a member without status or active counts as active")

        _ = try await server.createRecord(
            owner, "net.atrarium.moderation.action",
            [
                "$type": "net.atrarium.moderation.action", "action": "hide_post", "community": .string(config.uri),
                "target": ["$type": "net.atrarium.moderation.action#postTarget", "uri": .string(post.uri), "cid": .string(post.cid)],
                "reason": "off_topic", "createdAt": .string(ATDatetime.now().string),
            ])
        #expect(try await server.awaitFeed(feed, []) == [], "the #postTarget action hides the post")
    }
}
