import ATProto
import Atrarium
import FeedGen
import Foundation
import PDSTestSupport
import Testing

@testable import PDS

/// The dashboard API end to end over HTTP: the design's scenario, invite-only
/// approval and role changes, each change a record in the actor's own
/// repository that the feed generator then indexes.
@Suite("Atrarium dashboard API")
struct DashboardScenarioTests {
    @Test func designScenarioHideAndUnhide() async throws {
        let (server, box) = try await TestServer.startWithDashboard()
        defer { Task { await server.stop() } }
        let owner = try await server.createAccount("owner")
        let alice = try await server.createAccount("alice")

        let created = try await server.api(
            "POST", "/api/communities", #"{"name": "Herons", "description": "Birds", "feedMix": {"own": 1, "parent": 0, "global": 0}}"#,
            token: owner.accessJwt)
        #expect(created.status == 201, "\(created.text)")
        let community = try #require(created["community"])
        let id = try #require(community["id"]?.stringValue)
        #expect(community["hashtag"]?.stringValue == "#atrarium_" + id)
        #expect(community["role"] == "owner" && community["stage"] == "theme" && community["accessType"] == "open")
        #expect(community["feedMix"]?["own"]?.intValue == 100)
        let configURI = try #require(created["uri"]?.stringValue)
        #expect(configURI == "at://\(owner.did)/net.atrarium.community.config/\(id)")
        // Both records are in the owner's repository; the feed is published.
        let feedURI = FeedGenerator.feedURI(communityID: id, owner: try DID(owner.did))
        #expect(created["feedUri"]?.stringValue == feedURI)
        let generatorRecord = try await server.query(
            "com.atproto.repo.getRecord",
            [("repo", owner.did), ("collection", "app.bsky.feed.generator"), ("rkey", FeedGenerator.feedRecordKey(communityID: id).string)])
        #expect(generatorRecord["value"]?["did"]?.stringValue == box.generator.did.string)
        #expect(generatorRecord["value"]?["displayName"] == "Herons")

        // alice joins and posts with the hashtag.
        let joined = try await server.api("POST", "/api/communities/\(id)/members", "{}", token: alice.accessJwt)
        #expect(joined.status == 201 && joined["status"] == "active" && joined["role"] == "member", "\(joined.text)")
        #expect(try await server.records(alice.did, AtrariumRecords.membership.string).count == 1)
        let mine = try await server.api("GET", "/api/communities", query: [("member", "me")], token: alice.accessJwt)
        #expect(mine["communities"]?.arrayValue?.compactMap { $0["id"]?.stringValue } == [id])
        let post = try await server.createRecord(
            alice, "app.bsky.feed.post", ["$type": "app.bsky.feed.post", "text": .string("a heron! #atrarium_\(id)"), "createdAt": .string(ATDatetime.now().string)])
        let feed = try await server.awaitDashboardFeed(id, [post.uri], token: alice.accessJwt)
        #expect(feed.first?["text"]?.stringValue == "a heron! #atrarium_\(id)")
        #expect(feed.first?["author"]?.stringValue == alice.did)
        #expect(try await server.awaitFeed(feedURI, [post.uri]) == [post.uri])

        // The owner hides it: the feed excludes it; unhides: it returns.
        let hide = try await server.api(
            "POST", "/api/moderation/actions", #"{"community": "\#(id)", "action": "hide_post", "post": "\#(post.uri)", "reason": "off_topic"}"#,
            token: owner.accessJwt)
        #expect(hide.status == 201 && hide["indexed"] == true, "\(hide.text)")
        #expect(try await server.awaitDashboardFeed(id, [], token: alice.accessJwt).isEmpty)
        #expect(try await server.wholeFeed(feedURI) == [])
        let unhide = try await server.api(
            "POST", "/api/moderation/actions", #"{"community": "\#(id)", "action": "unhide_post", "post": "\#(post.uri)"}"#,
            token: owner.accessJwt)
        #expect(unhide.status == 201, "\(unhide.text)")
        #expect(try await server.awaitDashboardFeed(id, [post.uri], token: alice.accessJwt).count == 1)

        // The actions are listed for the owner, newest first, and are in the owner's repository.
        let actions = try await server.api("GET", "/api/moderation/actions", query: [("community", id)], token: owner.accessJwt)
        #expect(actions["actions"]?.arrayValue?.compactMap { $0["action"]?.stringValue } == ["unhide_post", "hide_post"])
        #expect(try await server.records(owner.did, AtrariumRecords.moderationAction.string).count == 2)
        // A member may neither moderate nor read the moderation log.
        let forbidden = try await server.api(
            "POST", "/api/moderation/actions", #"{"community": "\#(id)", "action": "hide_post", "post": "\#(post.uri)"}"#,
            token: alice.accessJwt)
        #expect(forbidden.status == 403 && forbidden.error == "Forbidden")
        #expect(try await server.api("GET", "/api/moderation/actions", query: [("community", id)], token: alice.accessJwt).status == 403)
        #expect(try await server.records(alice.did, AtrariumRecords.moderationAction.string).isEmpty)

        // Removing a member of an open community blocks it; unblocking lets it back.
        let bob = try await server.createAccount("bob")
        #expect(try await server.api("POST", "/api/communities/\(id)/members", nil, token: bob.accessJwt)["status"] == "active")
        let removed = try await server.api("DELETE", "/api/communities/\(id)/members/\(bob.did)", token: owner.accessJwt)
        #expect(removed.status == 200 && removed["blocked"] == true && removed["indexed"] == true, "\(removed.text)")
        let listed = try await server.api("GET", "/api/communities/\(id)/members", token: owner.accessJwt)
        #expect(listed["members"]?.arrayValue?.first { $0["did"]?.stringValue == bob.did }?["status"] == "blocked")
        let unblocked = try await server.api(
            "POST", "/api/moderation/actions", #"{"community": "\#(id)", "action": "unblock_user", "user": "\#(bob.did)"}"#, token: owner.accessJwt)
        #expect(unblocked.status == 201 && unblocked["indexed"] == true)
        let relisted = try await server.api("GET", "/api/communities/\(id)/members", token: owner.accessJwt)
        #expect(relisted["members"]?.arrayValue?.first { $0["did"]?.stringValue == bob.did }?["status"] == "active")

        // alice leaves: her membership record is deleted and her next post stays out.
        let left = try await server.api("DELETE", "/api/communities/\(id)/members/\(alice.did)", token: alice.accessJwt)
        #expect(left.status == 200 && left["left"] == true, "\(left.text)")
        #expect(try await server.records(alice.did, AtrariumRecords.membership.string).isEmpty)
        _ = try await server.createPost(alice, "still here? #atrarium_\(id)")
        let marker = try await server.createPost(owner, "marker #atrarium_\(id)")
        #expect(try await server.awaitDashboardFeed(id, [marker, post.uri], token: owner.accessJwt).count == 2)
    }

    @Test func inviteOnlyApprovalRolesAndRemoval() async throws {
        let (server, _) = try await TestServer.startWithDashboard()
        defer { Task { await server.stop() } }
        let owner = try await server.createAccount("owner")
        let carol = try await server.createAccount("carol")
        let dave = try await server.createAccount("dave")
        let erin = try await server.createAccount("erin")

        let created = try await server.api("POST", "/api/communities", #"{"name": "Closed", "accessType": "invite-only"}"#, token: owner.accessJwt)
        #expect(created.status == 201, "\(created.text)")
        let id = try #require(created["community"]?["id"]?.stringValue)
        let members = "/api/communities/\(id)/members"

        // carol asks to join: pending.
        let asked = try await server.api("POST", members, nil, token: carol.accessJwt)
        #expect(asked.status == 201 && asked["status"] == "pending", "\(asked.text)")
        #expect(try await server.api("GET", "/api/communities/\(id)", token: carol.accessJwt)["community"]?["role"] == "pending")
        let ownerView = try await server.api("GET", members, token: owner.accessJwt)
        #expect(ownerView["members"]?.arrayValue?.contains { $0["did"]?.stringValue == carol.did && $0["status"] == "pending" } == true)
        let carolView = try await server.api("GET", members, token: carol.accessJwt)
        #expect(carolView["members"]?.arrayValue?.compactMap { $0["did"]?.stringValue } == [owner.did])

        // Only the owner or a moderator approves.
        #expect(try await server.api("PUT", "\(members)/\(carol.did)", #"{"status": "active"}"#, token: erin.accessJwt).status == 403)
        #expect(try await server.atrariumRecords(erin.did).isEmpty)
        let approved = try await server.api("PUT", "\(members)/\(carol.did)", #"{"status": "active"}"#, token: owner.accessJwt)
        #expect(approved.status == 200 && approved["status"] == "active" && approved["role"] == "member", "\(approved.text)")
        #expect(try await server.records(owner.did, AtrariumRecords.approval.string).count == 1)

        // The owner makes carol a moderator: the config's moderators list.
        let promoted = try await server.api("PUT", "\(members)/\(carol.did)", #"{"role": "moderator"}"#, token: owner.accessJwt)
        #expect(promoted.status == 200 && promoted["role"] == "moderator", "\(promoted.text)")
        let config = try await server.records(owner.did, AtrariumRecords.config.string)
        #expect(config.first?["value"]?["moderators"]?.arrayValue == [.string(carol.did)])

        // carol, now a moderator, approves dave, but may not change roles.
        _ = try await server.api("POST", members, nil, token: dave.accessJwt)
        let byModerator = try await server.api("PUT", "\(members)/\(dave.did)", #"{"status": "active"}"#, token: carol.accessJwt)
        #expect(byModerator.status == 200 && byModerator["status"] == "active", "\(byModerator.text)")
        #expect(try await server.records(carol.did, AtrariumRecords.approval.string).count == 1)
        let roleByModerator = try await server.api("PUT", "\(members)/\(dave.did)", #"{"role": "moderator"}"#, token: carol.accessJwt)
        #expect(roleByModerator.status == 403)
        // Nobody can be made owner; a moderator cannot remove the owner.
        #expect(try await server.api("PUT", "\(members)/\(dave.did)", #"{"role": "owner"}"#, token: owner.accessJwt).status == 400)
        #expect(try await server.api("DELETE", "\(members)/\(owner.did)", token: carol.accessJwt).status == 403)

        // carol removes dave: her approval is revoked and dave is blocked.
        let removed = try await server.api("DELETE", "\(members)/\(dave.did)", token: carol.accessJwt)
        #expect(removed.status == 200 && removed["blocked"] == true && removed["indexed"] == true, "\(removed.text)")
        #expect(removed["revokedApprovals"]?.arrayValue?.count == 1)
        #expect(try await server.records(carol.did, AtrariumRecords.approval.string).isEmpty)
        let afterRemoval = try await server.api("GET", members, token: owner.accessJwt)
        #expect(afterRemoval["members"]?.arrayValue?.contains { $0["did"]?.stringValue == dave.did && $0["status"] == "active" } == false)

        // The owner demotes carol again.
        let demoted = try await server.api("PUT", "\(members)/\(carol.did)", #"{"role": "member"}"#, token: owner.accessJwt)
        #expect(demoted.status == 200 && demoted["role"] == "member", "\(demoted.text)")
        #expect(try await server.records(owner.did, AtrariumRecords.config.string).first?["value"]?["moderators"]?.arrayValue == [])
        // The moderators list can also be set whole by editing the community.
        let listed = try await server.api(
            "PUT", "/api/communities/\(id)", #"{"moderators": ["\#(carol.did)", "\#(erin.did)"]}"#, token: owner.accessJwt)
        #expect(listed.status == 200, "\(listed.text)")
        #expect(
            try await server.records(owner.did, AtrariumRecords.config.string).first?["value"]?["moderators"]?.arrayValue
                == [.string(carol.did), .string(erin.did)])
        #expect(try await server.api("PUT", "/api/communities/\(id)", #"{"moderators": []}"#, token: owner.accessJwt).status == 200)
        #expect(try await server.records(owner.did, AtrariumRecords.config.string).first?["value"]?["moderators"]?.arrayValue == [])
        // Stage moves forward only; the owner alone edits the community.
        #expect(try await server.api("PUT", "/api/communities/\(id)", #"{"stage": "community"}"#, token: owner.accessJwt).status == 200)
        let back = try await server.api("PUT", "/api/communities/\(id)", #"{"stage": "theme"}"#, token: owner.accessJwt)
        #expect(back.status == 400 && back.error == "InvalidRequest")
        #expect(try await server.api("PUT", "/api/communities/\(id)", #"{"name": "Mine"}"#, token: carol.accessJwt).status == 403)
        #expect(try await server.api("PUT", "/api/communities/\(id)", #"{"parentCommunity": "\#(id)"}"#, token: owner.accessJwt).status == 400)
        // A parent given by id is stored as its config's at-uri.
        let parent = try await server.api("POST", "/api/communities", #"{"name": "Parent"}"#, token: erin.accessJwt)
        let parentID = try #require(parent["community"]?["id"]?.stringValue)
        let child = try await server.api(
            "PUT", "/api/communities/\(id)", #"{"parentCommunity": "\#(parentID)", "feedMix": {"own": 60, "parent": 40, "global": 0}}"#,
            token: owner.accessJwt)
        #expect(child.status == 200 && child["community"]?["parentCommunity"] == parent["uri"], "\(child.text)")
        #expect(child["community"]?["feedMix"]?["parent"]?.intValue == 40)
        let renamed = try await server.api("PUT", "/api/communities/\(id)", #"{"name": "Open now", "accessType": "open"}"#, token: owner.accessJwt)
        #expect(renamed["community"]?["name"] == "Open now" && renamed["community"]?["accessType"] == "open" && renamed["community"]?["stage"] == "community")
    }
}
