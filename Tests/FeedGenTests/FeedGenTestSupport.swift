import ATProto
import FeedGen
import Foundation
import Logging

/// A feed generator on a temporary data directory, and builders of the
/// records and events the tests feed it.
struct FeedGenFixture {
    let directory: String
    let generator: FeedGenerator

    static let generatorDID = "did:web:feeds.example.com"

    init(config: FeedGenConfig = FeedGenConfig(), directory: String? = nil, resolver: (any SigningKeyResolver)? = nil) throws {
        let dir = directory ?? FileManager.default.temporaryDirectory.appendingPathComponent("feedgen-test-\(UUID().uuidString)").path
        self.directory = dir
        var logger = Logger(label: "feedgen-test")
        logger.logLevel = .critical
        generator = try FeedGenerator(
            config: config, dataDirectory: dir, did: try DID(Self.generatorDID), serviceEndpoint: "https://feeds.example.com",
            keyResolver: resolver, logger: logger)
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Applies events in order through the queue, as the sources do.
    func ingest(_ events: [IngestEvent], source: String = "test", now: Date = Date()) async throws {
        try await generator.queue.enqueue(events, source: source, cursor: nil)
        while try await generator.processor.processBatch(now: now) > 0 {}
    }

    /// The URIs of a community's whole feed, paging with `limit`.
    func feedURIs(_ id: String, owner: String, limit: Int = 50) async throws -> [String] {
        var uris: [String] = []
        var cursor: String?
        repeat {
            let page = try await generator.getFeedSkeleton(
                feed: FeedGenerator.feedURI(communityID: id, owner: try DID(owner)), limit: String(limit), cursor: cursor, authorization: nil)
            uris += page["feed"]?.arrayValue?.compactMap { $0["post"]?.stringValue } ?? []
            cursor = page["cursor"]?.stringValue
        } while cursor != nil
        return uris
    }

    /// A community's feed once it is `expected`, or as it is when `timeout`
    /// runs out (for ingest that runs in the background).
    func awaitFeed(_ id: String, owner: String, _ expected: [String], timeout: Duration = .seconds(30)) async throws -> [String] {
        var feed: [String] = []
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            feed = (try? await feedURIs(id, owner: owner)) ?? []
            if feed == expected { break }
            try await Task.sleep(for: .milliseconds(25))
        }
        return feed
    }
}

/// Builders of Atrarium records and ingest events.
enum Records {
    static let t0 = Date(timeIntervalSince1970: 1_790_000_000)

    static func cid(_ seed: String) -> String { CID.compute(Array(seed.utf8)).string }

    static func create(_ did: String, _ collection: String, _ rkey: String, _ record: DataValue) throws -> IngestEvent {
        .record(
            try RecordChange(
                did: did, collection: collection, rkey: rkey, operation: .create,
                cid: cid(ATProtoJSON.encodeString(record) + did + rkey), record: record))
    }

    static func delete(_ did: String, _ collection: String, _ rkey: String) throws -> IngestEvent {
        .record(try RecordChange(did: did, collection: collection, rkey: rkey, operation: .delete, cid: nil, record: nil))
    }

    static func config(
        id: String, name: String = "Herons", access: String = "open", moderators: [String] = [], blocklist: [String] = [],
        feedMix: FeedMix? = nil, parent: String? = nil
    ) -> DataValue {
        var map: DataMap = [
            "$type": "net.atrarium.community.config", "name": .string(name), "hashtag": .string("#atrarium_" + id),
            "stage": "theme", "accessType": .string(access), "moderators": .array(moderators.map(DataValue.string)),
            "blocklist": .array(blocklist.map(DataValue.string)), "createdAt": "2026-11-23T10:00:00.000Z",
        ]
        if let feedMix {
            map["feedMix"] = ["own": .int(Int64(feedMix.own)), "parent": .int(Int64(feedMix.parent)), "global": .int(Int64(feedMix.global))]
        }
        if let parent { map["parentCommunity"] = .string(parent) }
        return .map(map)
    }

    static func configURI(_ owner: String, _ rkey: String = "self") -> String { "at://\(owner)/net.atrarium.community.config/\(rkey)" }

    static func membership(_ community: String, role: String = "member", active: Bool = true) -> DataValue {
        [
            "$type": "net.atrarium.community.membership", "community": .string(community), "role": .string(role),
            "status": "active", "joinedAt": "2026-11-23T10:00:00.000Z", "active": .bool(active),
        ]
    }

    static func approval(_ community: String, member: String) -> DataValue {
        [
            "$type": "net.atrarium.community.approval", "community": .string(community), "member": .string(member),
            "createdAt": "2026-11-23T10:00:00.000Z",
        ]
    }

    static func hide(_ community: String, uri: String, cid: String, action: String = "hide_post", at time: String = "2026-11-23T10:00:01.000Z")
        -> DataValue
    {
        [
            "$type": "net.atrarium.moderation.action", "action": .string(action), "community": .string(community),
            "target": ["$type": "com.atproto.repo.strongRef", "uri": .string(uri), "cid": .string(cid)], "createdAt": .string(time),
        ]
    }

    static func block(_ community: String, did: String, action: String = "block_user", at time: String = "2026-11-23T10:00:01.000Z")
        -> DataValue
    {
        [
            "$type": "net.atrarium.moderation.action", "action": .string(action), "community": .string(community),
            "target": ["$type": "net.atrarium.moderation.action#userTarget", "did": .string(did)], "createdAt": .string(time),
        ]
    }

    static func post(_ text: String, at date: Date) -> DataValue {
        ["$type": "app.bsky.feed.post", "text": .string(text), "createdAt": .string(ATDatetime.format(date))]
    }

    /// The URI and CID a `create` event gives its record.
    static func ref(_ event: IngestEvent) -> (uri: String, cid: String) {
        guard case .record(let change) = event else { return ("", "") }
        return (change.uri, change.cid ?? "")
    }
}
