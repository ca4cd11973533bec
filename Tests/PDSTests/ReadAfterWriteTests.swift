import ATProto
import Foundation
import PDSTestSupport
import Testing

@testable import PDS

/// Read-after-write against a fake AppView on loopback that answers with
/// an older `atproto-repo-rev`: the requester's new posts and edited
/// profile appear in the proxied answers; with a current rev, or none,
/// nothing is patched.
@Suite struct ReadAfterWriteTests {
    @Test func newPostsAndProfileEditsShowBeforeTheAppViewHasThem() async throws {
        let setup = try await ProxyTests.Setup.start()
        let server = setup.server
        let appView = setup.appView
        let alice = try await server.createAccount("alice")
        let bob = try await server.createAccount("bob")
        func rev() async throws -> String {
            try #require(try await server.query("com.atproto.sync.getLatestCommit", [("did", alice.did)])["rev"]?.stringValue)
        }
        func post(_ text: String, reply: (uri: String, cid: String)? = nil) async throws -> (uri: String, cid: String) {
            var record: DataMap = ["$type": "app.bsky.feed.post", "text": .string(text), "createdAt": .string(ATDatetime.now().string)]
            if let reply {
                let ref: DataValue = ["uri": .string(reply.uri), "cid": .string(reply.cid)]
                record["reply"] = ["root": ref, "parent": ref]
            }
            let created = try await server.procedure(
                "com.atproto.repo.createRecord", ["repo": .string(alice.did), "collection": "app.bsky.feed.post", "record": .map(record)],
                token: alice.accessJwt)
            return (try #require(created["uri"]?.stringValue), try #require(created["cid"]?.stringValue))
        }
        let seen = try await post("the AppView has this one")
        let seenRev = try await rev()
        _ = try await server.procedure(
            "com.atproto.repo.putRecord",
            ["repo": .string(alice.did), "collection": "app.bsky.actor.profile", "rkey": "self",
             "record": ["$type": "app.bsky.actor.profile", "displayName": "Alice Edited", "description": "new words"]],
            token: alice.accessJwt)
        let first = try await post("new one")
        let second = try await post("new two")
        let reply = try await post("a reply", reply: seen)

        let oldAuthor: DataValue = ["did": .string(alice.did), "handle": "alice.test", "displayName": "Alice Before"]
        let feed: DataValue = [
            "feed": [["post": ["uri": .string(seen.uri), "cid": .string(seen.cid), "author": oldAuthor, "record": [:], "indexedAt": "2026-01-01T00:00:00.000Z"]]],
        ]
        appView.answer("app.bsky.feed.getTimeline", with: feed, rev: seenRev)
        let timeline = try await server.query("app.bsky.feed.getTimeline", token: alice.accessJwt)
        let uris = timeline["feed"]?.arrayValue?.compactMap { $0["post"]?["uri"]?.stringValue }
        #expect(uris == [reply.uri, second.uri, first.uri, seen.uri])
        #expect(Int(timeline.headers["atproto-upstream-lag"] ?? "") != nil)
        let inserted = timeline["feed"]?[0]?["post"]
        #expect(inserted?["record"]?["text"]?.stringValue == "a reply" && inserted?["author"]?["displayName"]?.stringValue == "Alice Edited")
        #expect(inserted?["likeCount"]?.intValue == 0 && inserted?["cid"]?.stringValue == reply.cid)

        // Another account's timeline gets nothing of alice's.
        #expect(try await server.query("app.bsky.feed.getTimeline", token: bob.accessJwt).headers["atproto-upstream-lag"] == nil)

        appView.answer("app.bsky.feed.getAuthorFeed", with: feed, rev: seenRev)
        let own = try await server.query("app.bsky.feed.getAuthorFeed", [("actor", "alice.test")], token: alice.accessJwt)
        #expect(own["feed"]?.arrayValue?.count == 4)
        #expect(own["feed"]?[3]?["post"]?["author"]?["displayName"]?.stringValue == "Alice Edited")
        let others = try await server.query("app.bsky.feed.getAuthorFeed", [("actor", "bob.test")], token: alice.accessJwt)
        #expect(others["feed"]?.arrayValue?.count == 1 && others.headers["atproto-upstream-lag"] == nil)

        appView.answer("app.bsky.actor.getProfile", with: ["did": .string(alice.did), "handle": "alice.test", "displayName": "Alice Before", "followersCount": 3], rev: seenRev)
        let profile = try await server.query("app.bsky.actor.getProfile", [("actor", alice.did)], token: alice.accessJwt)
        #expect(profile["displayName"]?.stringValue == "Alice Edited" && profile["description"]?.stringValue == "new words")
        #expect(profile["followersCount"]?.intValue == 3)
        appView.answer(
            "app.bsky.actor.getProfiles",
            with: ["profiles": [["did": .string(bob.did), "handle": "bob.test", "displayName": "Bob"], ["did": .string(alice.did), "handle": "alice.test"]]],
            rev: seenRev)
        let profiles = try await server.query("app.bsky.actor.getProfiles", [("actors", bob.did), ("actors", alice.did)], token: alice.accessJwt)
        #expect(profiles["profiles"]?[0]?["displayName"]?.stringValue == "Bob")
        #expect(profiles["profiles"]?[1]?["displayName"]?.stringValue == "Alice Edited")

        appView.answer(
            "app.bsky.feed.getPostThread",
            with: ["thread": ["$type": "app.bsky.feed.defs#threadViewPost", "post": ["uri": .string(seen.uri), "cid": .string(seen.cid), "author": oldAuthor, "record": [:], "indexedAt": "2026-01-01T00:00:00.000Z"], "replies": []]],
            rev: seenRev)
        let thread = try await server.query("app.bsky.feed.getPostThread", [("uri", seen.uri)], token: alice.accessJwt)
        #expect(thread["thread"]?["replies"]?[0]?["post"]?["uri"]?.stringValue == reply.uri)
        // A post the AppView does not know yet: the thread is made here.
        appView.answer("app.bsky.feed.getPostThread", with: ["error": "NotFound", "message": "Post not found"], rev: seenRev, status: .badRequest)
        let fresh = try await server.query("app.bsky.feed.getPostThread", [("uri", first.uri)], token: alice.accessJwt)
        #expect(fresh.status == 200 && fresh["thread"]?["post"]?["uri"]?.stringValue == first.uri)

        // An AppView that has seen everything, or says nothing of what it
        // has seen, gets its answer passed on as it is.
        let current = try await rev()
        appView.answer("app.bsky.feed.getTimeline", with: feed, rev: current)
        let upToDate = try await server.query("app.bsky.feed.getTimeline", token: alice.accessJwt)
        #expect(upToDate["feed"]?.arrayValue?.count == 1 && upToDate.headers["atproto-upstream-lag"] == nil)
        appView.answer("app.bsky.feed.getTimeline", with: feed, rev: nil)
        let silent = try await server.query("app.bsky.feed.getTimeline", token: alice.accessJwt)
        #expect(silent["feed"]?.arrayValue?.count == 1 && silent.headers["atproto-upstream-lag"] == nil)
        await server.stop()
    }

    @Test func reportsGoToTheConfiguredReportService() async throws {
        let setup = try await ProxyTests.Setup.start()
        // The fake AppView plays the report service too.
        let server = try await setup.startServer {
            $0.reportServiceURL = setup.appView.url
            $0.reportServiceDID = "did:web:mod.example.com"
        }
        let carol = try await server.createAccount("carol")
        let report = try await server.procedure(
            "com.atproto.moderation.createReport",
            ["reasonType": "com.atproto.moderation.defs#reasonSpam", "subject": ["$type": "com.atproto.admin.defs#repoRef", "did": .string(carol.did)]],
            token: carol.accessJwt)
        #expect(report.status == 200, "\(report.text)")
        let received = try #require(setup.appView.requests.last { $0.nsid == "com.atproto.moderation.createReport" })
        #expect(received.failure == nil && received.claims?.aud == "did:web:mod.example.com")
        #expect(received.claims?.lxm == "com.atproto.moderation.createReport")
        // Without one configured the request needs an atproto-proxy header.
        let unconfigured = try await setup.server.procedure(
            "com.atproto.moderation.createReport", ["reasonType": "x", "subject": [:]], token: try await setup.server.createAccount("dan").accessJwt)
        #expect(unconfigured.status == 400 && unconfigured.text.contains("No service configured"))
        await server.stop()
        await setup.server.stop()
    }
}
