import ATProto
import FeedGen
import Foundation
import Testing

@Suite("Feed pages, cursors and feedMix")
struct FeedMixAndCursorTests {
    let owner = "did:plc:owner000000000000000000"
    let child = "aaaa0001"
    let parent = "aaaa0002"
    let other = "aaaa0003"

    @Test func cursorsAreStrict() throws {
        #expect(try FeedPosition(parsing: "1790000000000::\(Records.cid("x"))").createdAt == 1_790_000_000_000)
        for bad in ["", "::", "12::", "-1::\(Records.cid("x"))", "abc::\(Records.cid("x"))", "12:\(Records.cid("x"))", "12::bafy", "12::\(Records.cid("x"))::3"] {
            #expect(throws: FeedGenError.self, "\(bad)") { try FeedPosition(parsing: Substring(bad)) }
        }
        let mix = MixCursor(own: .after(FeedPosition(createdAt: 5, cid: Records.cid("a"))), parent: .end, global: .start)
        #expect(try MixCursor(parsing: mix.string) == mix)
        for bad in ["mix:", "mix:-|-", "mix:x|-|-", "12::\(Records.cid("x"))"] {
            #expect(throws: FeedGenError.self, "\(bad)") { try MixCursor(parsing: bad) }
        }
    }

    @Test func mixedFeedFollowsItsPercentagesAndPagesWithoutRepeats() async throws {
        let f = try FeedGenFixture()
        defer { f.remove() }
        let parentURI = Records.configURI(owner, "parent")
        var events: [IngestEvent] = [
            try Records.create(owner, "net.atrarium.community.config", "parent", Records.config(id: parent)),
            try Records.create(owner, "net.atrarium.community.config", "other", Records.config(id: other)),
            try Records.create(owner, "net.atrarium.community.config", "child",
                Records.config(id: child, feedMix: FeedMix(own: 50, parent: 30, global: 20), parent: parentURI)),
        ]
        let start = Date().addingTimeInterval(-3600)
        var bySource: [String: Set<String>] = [child: [], parent: [], other: []]
        for n in 0..<60 {
            let id = [child, parent, other][n % 3]
            let event = try Records.create(owner, "app.bsky.feed.post", "p\(n)", Records.post("#atrarium_\(id) \(n)", at: start.addingTimeInterval(Double(n))))
            bySource[id]!.insert(Records.ref(event).uri)
            events.append(event)
        }
        try await f.ingest(events)
        let feed = FeedGenerator.feedURI(communityID: child, owner: try DID(owner))
        let first = try await f.generator.getFeedSkeleton(feed: feed, limit: "10", cursor: nil, authorization: nil)
        let firstURIs = first["feed"]?.arrayValue?.compactMap { $0["post"]?.stringValue } ?? []
        #expect(firstURIs.count == 10)
        #expect(firstURIs.filter { bySource[child]!.contains($0) }.count == 5)
        #expect(firstURIs.filter { bySource[parent]!.contains($0) }.count == 3)
        #expect(firstURIs.filter { bySource[other]!.contains($0) }.count == 2)
        #expect(first["cursor"]?.stringValue?.hasPrefix("mix:") == true)

        // Paging to the end serves every post of the three sources once.
        let all = try await f.feedURIs(child, owner: owner, limit: 10)
        #expect(all.count == 60 && Set(all).count == 60)
        // A plain cursor is refused by a mixed feed.
        await #expect(throws: FeedGenError.self) {
            _ = try await f.generator.getFeedSkeleton(feed: feed, limit: nil, cursor: "5::\(Records.cid("a"))", authorization: nil)
        }
        // The parent, unmixed, has its own 20 only.
        #expect(Set(try await f.feedURIs(parent, owner: owner, limit: 7)) == bySource[parent]!)
    }

    @Test func hiddenPostsAreFilteredBeforeTheLimit() async throws {
        let f = try FeedGenFixture()
        defer { f.remove() }
        let community = Records.configURI(owner)
        var events: [IngestEvent] = [try Records.create(owner, "net.atrarium.community.config", "self", Records.config(id: child))]
        var posts: [IngestEvent] = []
        let instant = Date().addingTimeInterval(-10)
        for n in 0..<20 {
            posts.append(try Records.create(owner, "app.bsky.feed.post", "p\(n)", Records.post("#atrarium_\(child) \(n)", at: instant)))
        }
        events += posts
        // Hide every other post.
        for n in stride(from: 0, to: 20, by: 2) {
            let ref = Records.ref(posts[n])
            events.append(try Records.create(owner, "net.atrarium.moderation.action", "h\(n)", Records.hide(community, uri: ref.uri, cid: ref.cid)))
        }
        try await f.ingest(events)
        let feed = FeedGenerator.feedURI(communityID: child, owner: try DID(owner))
        var pages: [[String]] = []
        var cursor: String?
        repeat {
            let page = try await f.generator.getFeedSkeleton(feed: feed, limit: "4", cursor: cursor, authorization: nil)
            pages.append(page["feed"]?.arrayValue?.compactMap { $0["post"]?.stringValue } ?? [])
            cursor = page["cursor"]?.stringValue
        } while cursor != nil
        #expect(pages.map(\.count) == [4, 4, 2])
        let visible = Set(stride(from: 1, to: 20, by: 2).map { Records.ref(posts[$0]).uri })
        #expect(Set(pages.flatMap { $0 }) == visible)
    }
}
