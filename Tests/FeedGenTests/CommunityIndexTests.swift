import ATProto
import FeedGen
import Foundation
import Testing

@Suite("Community index rules")
struct CommunityIndexTests {
    let owner = "did:plc:owner000000000000000000"
    let mod = "did:plc:moderator00000000000000"
    let alice = "did:plc:alice0000000000000000000"
    let bob = "did:plc:bob00000000000000000000"
    let mallory = "did:plc:mallory00000000000000000"
    let id = "1a2b3c4d"

    @Test func openCommunityIndexesMembersOnlyAndHonoursModeration() async throws {
        let f = try FeedGenFixture()
        defer { f.remove() }
        let community = Records.configURI(owner)
        let t = Date()
        var events: [IngestEvent] = [
            try Records.create(owner, "net.atrarium.community.config", "self", Records.config(id: id, moderators: [mod])),
            try Records.create(alice, "net.atrarium.community.membership", "m1", Records.membership(community)),
        ]
        let p1 = try Records.create(alice, "app.bsky.feed.post", "p1", Records.post("first #atrarium_\(id)", at: t.addingTimeInterval(-5)))
        let p2 = try Records.create(alice, "app.bsky.feed.post", "p2", Records.post("legacy #atr_\(id) tag", at: t.addingTimeInterval(-4)))
        let untagged = try Records.create(alice, "app.bsky.feed.post", "p3", Records.post("no tag here", at: t.addingTimeInterval(-3)))
        let outsider = try Records.create(bob, "app.bsky.feed.post", "p4", Records.post("not a member #atrarium_\(id)", at: t.addingTimeInterval(-2)))
        let ownerPost = try Records.create(owner, "app.bsky.feed.post", "p5", Records.post("owner #atrarium_\(id)", at: t.addingTimeInterval(-1)))
        events += [p1, p2, untagged, outsider, ownerPost]
        try await f.ingest(events)
        #expect(try await f.feedURIs(id, owner: owner) == [Records.ref(ownerPost).uri, Records.ref(p2).uri, Records.ref(p1).uri])

        // A moderator hides a post; a non-moderator's action does nothing.
        try await f.ingest([
            try Records.create(mallory, "net.atrarium.moderation.action", "x1", Records.hide(community, uri: Records.ref(ownerPost).uri, cid: Records.ref(ownerPost).cid)),
            try Records.create(mod, "net.atrarium.moderation.action", "h1", Records.hide(community, uri: Records.ref(p1).uri, cid: Records.ref(p1).cid)),
        ])
        #expect(try await f.feedURIs(id, owner: owner) == [Records.ref(ownerPost).uri, Records.ref(p2).uri])

        // Blocking alice removes her posts at read time; unblocking restores them.
        try await f.ingest([try Records.create(mod, "net.atrarium.moderation.action", "b1", Records.block(community, did: alice))])
        #expect(try await f.feedURIs(id, owner: owner) == [Records.ref(ownerPost).uri])
        // While blocked, new posts are not indexed at all.
        let whileBlocked = try Records.create(alice, "app.bsky.feed.post", "p6", Records.post("blocked #atrarium_\(id)", at: t))
        try await f.ingest([whileBlocked])
        try await f.ingest([
            try Records.create(owner, "net.atrarium.moderation.action", "u1", Records.block(community, did: alice, action: "unblock_user", at: "2026-11-23T10:00:02.000Z"))
        ])
        #expect(try await f.feedURIs(id, owner: owner) == [Records.ref(ownerPost).uri, Records.ref(p2).uri])

        // Deleting a post removes it; replaying its creation does not bring it back.
        try await f.ingest([try Records.delete(alice, "app.bsky.feed.post", "p2")])
        try await f.ingest([p2])
        #expect(try await f.feedURIs(id, owner: owner) == [Records.ref(ownerPost).uri])
    }

    @Test func inviteOnlyNeedsApprovalByOwnerOrModerator() async throws {
        let f = try FeedGenFixture()
        defer { f.remove() }
        let community = Records.configURI(owner)
        let t = Date()
        try await f.ingest([
            try Records.create(owner, "net.atrarium.community.config", "self", Records.config(id: id, access: "invite-only", moderators: [mod])),
            // alice claims membership, and even claims to be owner: a claim only.
            try Records.create(alice, "net.atrarium.community.membership", "m1", Records.membership(community, role: "owner")),
            try Records.create(bob, "net.atrarium.community.membership", "m2", Records.membership(community)),
            // mallory "approves" bob: not an authority.
            try Records.create(mallory, "net.atrarium.community.approval", "a0", Records.approval(community, member: bob)),
        ])
        let a1 = try Records.create(alice, "app.bsky.feed.post", "p1", Records.post("pending #atrarium_\(id)", at: t.addingTimeInterval(-3)))
        let b1 = try Records.create(bob, "app.bsky.feed.post", "p2", Records.post("pending #atrarium_\(id)", at: t.addingTimeInterval(-2)))
        try await f.ingest([a1, b1])
        #expect(try await f.feedURIs(id, owner: owner).isEmpty)

        try await f.ingest([try Records.create(mod, "net.atrarium.community.approval", "a1", Records.approval(community, member: alice))])
        let a2 = try Records.create(alice, "app.bsky.feed.post", "p3", Records.post("approved #atrarium_\(id)", at: t.addingTimeInterval(-1)))
        let b2 = try Records.create(bob, "app.bsky.feed.post", "p4", Records.post("still pending #atrarium_\(id)", at: t))
        try await f.ingest([a2, b2])
        #expect(try await f.feedURIs(id, owner: owner) == [Records.ref(a2).uri])

        // alice's self-declared owner role gives her no moderation power.
        try await f.ingest([
            try Records.create(alice, "net.atrarium.moderation.action", "h1", Records.hide(community, uri: Records.ref(a2).uri, cid: Records.ref(a2).cid))
        ])
        #expect(try await f.feedURIs(id, owner: owner) == [Records.ref(a2).uri])
    }

    /// A community owned by a did:web account has a feed URI under that
    /// DID, and one under the feed generator's own DID serves it too.
    @Test func didWebOwnersAndTheGeneratorsOwnDIDPublishFeeds() async throws {
        let f = try FeedGenFixture()
        defer { f.remove() }
        let webOwner = "did:web:herons.example.org"
        let t = Date()
        try await f.ingest([
            try Records.create(webOwner, "net.atrarium.community.config", "self", Records.config(id: id)),
            try Records.create(webOwner, "app.bsky.feed.post", "p1", Records.post("first #atrarium_\(id)", at: t)),
        ])
        let post = "at://\(webOwner)/app.bsky.feed.post/p1"
        #expect(try await f.feedURIs(id, owner: webOwner) == [post])
        let byGenerator = try await f.generator.getFeedSkeleton(
            feed: FeedGenerator.feedURI(communityID: id, owner: try DID(FeedGenFixture.generatorDID)), limit: nil, cursor: nil, authorization: nil)
        #expect(byGenerator["feed"]?.arrayValue?.compactMap { $0["post"]?.stringValue } == [post])
        let description = try await f.generator.describeFeedGenerator()
        #expect(description["feeds"]?.arrayValue?.compactMap { $0["uri"]?.stringValue } == [FeedGenerator.feedURI(communityID: id, owner: try DID(webOwner))])
        // Any other publisher is unknown.
        await #expect(throws: FeedGenError.unknownFeed(FeedGenerator.feedURI(communityID: id, owner: try DID("did:web:other.example.org")))) {
            _ = try await f.generator.getFeedSkeleton(
                feed: FeedGenerator.feedURI(communityID: id, owner: try DID("did:web:other.example.org")), limit: nil, cursor: nil, authorization: nil)
        }
    }

    @Test func selfDeclaredOwnerOfAnotherCommunityIsIgnored() async throws {
        let f = try FeedGenFixture()
        defer { f.remove() }
        let t = Date()
        try await f.ingest([
            try Records.create(owner, "net.atrarium.community.config", "self", Records.config(id: id, access: "invite-only")),
            // mallory publishes a config with the same hashtag, open to all.
            try Records.create(mallory, "net.atrarium.community.config", "self", Records.config(id: id, name: "Mine now", access: "open")),
            try Records.create(mallory, "app.bsky.feed.post", "p1", Records.post("I own this #atrarium_\(id)", at: t)),
        ])
        let description = try await f.generator.describeFeedGenerator()
        #expect(description["feeds"]?.arrayValue?.compactMap { $0["uri"]?.stringValue } == [FeedGenerator.feedURI(communityID: id, owner: try DID(owner))])
        #expect(try await f.feedURIs(id, owner: owner).isEmpty)
        // Her feed URI is unknown.
        await #expect(throws: FeedGenError.unknownFeed(FeedGenerator.feedURI(communityID: id, owner: try DID(mallory)))) {
            _ = try await f.generator.getFeedSkeleton(
                feed: FeedGenerator.feedURI(communityID: id, owner: try DID(mallory)), limit: nil, cursor: nil, authorization: nil)
        }
    }

    /// The directory remembers hashtags that name no community (so such
    /// posts cost no read): a community created afterwards still gets the
    /// posts made from then on, and one removed stops getting them.
    @Test func aCommunityCreatedAfterItsHashtagWasSeenGetsItsPosts() async throws {
        let f = try FeedGenFixture()
        defer { f.remove() }
        let t = Date()
        let early = try Records.create(owner, "app.bsky.feed.post", "p1", Records.post("too early #atrarium_\(id)", at: t.addingTimeInterval(-3)))
        try await f.ingest([early])
        try await f.ingest([try Records.create(owner, "app.bsky.feed.post", "p2", Records.post("still early #atrarium_\(id)", at: t.addingTimeInterval(-2)))])
        let textless = try Records.create(owner, "app.bsky.feed.post", "p0", ["$type": "app.bsky.feed.post", "tags": [.string("atrarium_\(id)")]])
        try await f.ingest([textless])

        try await f.ingest([try Records.create(owner, "net.atrarium.community.config", "self", Records.config(id: id))])
        let onTime = try Records.create(owner, "app.bsky.feed.post", "p3", Records.post("on time #atrarium_\(id)", at: t.addingTimeInterval(-1)))
        try await f.ingest([onTime])
        #expect(try await f.feedURIs(id, owner: owner) == [Records.ref(onTime).uri])

        // Removed: unknown again, and its posts are not indexed anywhere.
        try await f.ingest([try Records.delete(owner, "net.atrarium.community.config", "self")])
        try await f.ingest([try Records.create(owner, "app.bsky.feed.post", "p4", Records.post("too late #atrarium_\(id)", at: t))])
        #expect(try await f.generator.pool.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM community_post")! } == 0)
        // Created again: posts from then on are indexed.
        try await f.ingest([try Records.create(owner, "net.atrarium.community.config", "self", Records.config(id: id))])
        let again = try Records.create(owner, "app.bsky.feed.post", "p5", Records.post("back #atrarium_\(id)", at: t))
        try await f.ingest([again])
        #expect(try await f.feedURIs(id, owner: owner) == [Records.ref(again).uri])
        // The text-less tagged post was refused, as posts of known communities are.
        let (_, dead) = try await f.generator.queue.counts()
        #expect(dead == 1)
    }

    @Test func takedownRemovesTheAccountsPostsAndInvalidRecordsAreDeadLettered() async throws {
        let f = try FeedGenFixture()
        defer { f.remove() }
        let community = Records.configURI(owner)
        let t = Date()
        let post = try Records.create(alice, "app.bsky.feed.post", "p1", Records.post("#atrarium_\(id)", at: t))
        try await f.ingest([
            try Records.create(owner, "net.atrarium.community.config", "self", Records.config(id: id)),
            try Records.create(alice, "net.atrarium.community.membership", "m1", Records.membership(community)),
            post,
            // Invalid: bad hashtag, feedMix not summing to 100, too many moderators.
            try Records.create(bob, "net.atrarium.community.config", "c1", Records.config(id: "XYZ12345")),
            try Records.create(bob, "net.atrarium.community.config", "c2", Records.config(id: "00000002", feedMix: FeedMix(own: 50, parent: 0, global: 20))),
            try Records.create(bob, "net.atrarium.community.config", "c3",
                Records.config(id: "00000003", moderators: (0..<51).map { "did:plc:m\(String(format: "%023d", $0))" })),
        ])
        #expect(try await f.feedURIs(id, owner: owner) == [Records.ref(post).uri])
        let (queued, dead) = try await f.generator.queue.counts()
        #expect(queued == 0 && dead == 3)
        let errors = try await f.generator.queue.deadLetterErrors()
        #expect(errors[0].contains("hashtag") && errors[1].contains("sum to 100") && errors[2].contains("moderators"))
        let feeds = try await f.generator.describeFeedGenerator()["feeds"]?.arrayValue?.count
        #expect(feeds == 1)

        try await f.ingest([.account(did: try DID(alice), active: false, status: "takendown")])
        #expect(try await f.feedURIs(id, owner: owner).isEmpty)
    }

    @Test func retentionDeletesOldPosts() async throws {
        var config = FeedGenConfig()
        config.retentionSeconds = 7 * 86_400
        let f = try FeedGenFixture(config: config)
        defer { f.remove() }
        let now = Date()
        let old = try Records.create(owner, "app.bsky.feed.post", "old", Records.post("#atrarium_\(id)", at: now.addingTimeInterval(-8 * 86_400)))
        let fresh = try Records.create(owner, "app.bsky.feed.post", "new", Records.post("#atrarium_\(id)", at: now.addingTimeInterval(-86_400)))
        try await f.ingest([try Records.create(owner, "net.atrarium.community.config", "self", Records.config(id: id)), old, fresh])
        #expect(try await f.feedURIs(id, owner: owner) == [Records.ref(fresh).uri, Records.ref(old).uri])
        #expect(try await f.generator.applyRetention(now: now) == 1)
        #expect(try await f.feedURIs(id, owner: owner) == [Records.ref(fresh).uri])
        #expect(try await f.generator.applyRetention(now: now.addingTimeInterval(7 * 86_400)) == 1)
        #expect(try await f.feedURIs(id, owner: owner).isEmpty)
    }

    @Test func updatesMoveAPostBetweenCommunities() async throws {
        let f = try FeedGenFixture()
        defer { f.remove() }
        let other = "0000beef"
        let t = Date().addingTimeInterval(-10)
        func update(_ text: String) throws -> IngestEvent {
            let record = Records.post(text, at: t)
            return .record(
                try RecordChange(
                    did: owner, collection: "app.bsky.feed.post", rkey: "p1", operation: .update,
                    cid: Records.cid(ATProtoJSON.encodeString(record)), record: record))
        }
        try await f.ingest([
            try Records.create(owner, "net.atrarium.community.config", "a", Records.config(id: id)),
            try Records.create(owner, "net.atrarium.community.config", "b", Records.config(id: other)),
            try Records.create(owner, "app.bsky.feed.post", "p1", Records.post("both #atrarium_\(id) #atrarium_\(other)", at: t)),
        ])
        let uri = "at://\(owner)/app.bsky.feed.post/p1"
        func feeds() async throws -> [[String]] { [try await f.feedURIs(id, owner: owner), try await f.feedURIs(other, owner: owner)] }
        #expect(try await feeds() == [[uri], [uri]])
        try await f.ingest([try update("only #atr_\(other) now")])
        #expect(try await feeds() == [[], [uri]])
        try await f.ingest([try update("no tags at all")])
        #expect(try await feeds() == [[], []])
        try await f.ingest([try update("back in #atrarium_\(id)")])
        #expect(try await feeds() == [[uri], []])
        // Deleting the community's config removes its feed.
        try await f.ingest([try Records.delete(owner, "net.atrarium.community.config", "a")])
        await #expect(throws: FeedGenError.self) { _ = try await f.feedURIs(id, owner: owner) }
    }
}
