import ATProto
import Atrarium
import FeedGen
import Foundation
import Synchronization

@testable import PDS

/// Holds the feed generator a test server was started with.
public final class FeedGenBox: Sendable {
    public init() {}
    private let value = Mutex<FeedGenerator?>(nil)
    public var generator: FeedGenerator { value.withLock { $0! } }
    public func set(_ generator: FeedGenerator) { value.withLock { $0 = generator } }
}

extension TestServer {
    /// A server with the Atrarium feed generator plugged in.
    public static func startWithFeedGen(
        _ configure: (inout PDSConfig) -> Void = { _ in }, feedConfig: FeedGenConfig = FeedGenConfig(),
        ingestOwnJetstream: Bool = false
    ) async throws -> (TestServer, FeedGenBox) {
        let box = FeedGenBox()
        var feedConfig = feedConfig
        feedConfig.batchIntervalMilliseconds = 100
        let server = try await TestServer.start(configure) { services in
            var feedConfig = feedConfig
            if ingestOwnJetstream {
                // Read this server's own Jetstream view instead of its log.
                feedConfig.localIngest = false
                feedConfig.jetstreamURLs = ["ws://127.0.0.1:\(services.config.port)/subscribe"]
            }
            let (plugin, generator) = try AtrariumExtension.make(services: services, config: feedConfig)
            box.set(generator)
            return [plugin]
        }
        return (server, box)
    }

    /// `createRecord` with an optional record key.
    public func createRecord(_ session: Session, _ collection: String, _ record: DataValue, rkey: String? = nil) async throws -> (uri: String, cid: String) {
        var input: DataMap = ["repo": .string(session.did), "collection": .string(collection), "record": record]
        if let rkey { input["rkey"] = .string(rkey) }
        let reply = try await procedure("com.atproto.repo.createRecord", .map(input), token: session.accessJwt)
        guard reply.status == 200, let uri = reply["uri"]?.stringValue, let cid = reply["cid"]?.stringValue else {
            throw TestError("createRecord \(collection) failed: \(reply.status) \(reply.text)")
        }
        return (uri, cid)
    }

    /// `deleteRecord` of an `at://` URI of the session's repository.
    public func deleteRecord(_ session: Session, _ uri: String) async throws {
        let parts = uri.split(separator: "/")
        let reply = try await procedure(
            "com.atproto.repo.deleteRecord",
            ["repo": .string(session.did), "collection": .string(String(parts[2])), "rkey": .string(String(parts[3]))],
            token: session.accessJwt)
        guard reply.status == 200 else { throw TestError("deleteRecord failed: \(reply.status) \(reply.text)") }
    }

    /// A post with `text`, created at `createdAt`.
    public func createPost(_ session: Session, _ text: String, createdAt: Date = Date()) async throws -> String {
        try await createRecord(
            session, "app.bsky.feed.post",
            ["$type": "app.bsky.feed.post", "text": .string(text), "createdAt": .string(ATDatetime.format(createdAt))]).uri
    }

    /// One page of a feed skeleton.
    public func feedPage(_ feed: String, limit: Int? = nil, cursor: String? = nil, token: String? = nil) async throws -> Reply {
        var params = [("feed", feed)]
        if let limit { params.append(("limit", String(limit))) }
        if let cursor { params.append(("cursor", cursor)) }
        return try await query("app.bsky.feed.getFeedSkeleton", params, token: token)
    }

    /// Every post URI of a feed, paging with `limit`.
    public func wholeFeed(_ feed: String, limit: Int = 50) async throws -> [String] {
        var uris: [String] = []
        var cursor: String?
        repeat {
            let page = try await feedPage(feed, limit: limit, cursor: cursor)
            guard page.status == 200 else { throw TestError("getFeedSkeleton: \(page.status) \(page.text)") }
            uris += page["feed"]?.arrayValue?.compactMap { $0["post"]?.stringValue } ?? []
            cursor = page["cursor"]?.stringValue
        } while cursor != nil
        return uris
    }

    /// Polls the feed until it equals `expected` (or 5 s pass); returns the last read.
    public func awaitFeed(_ feed: String, _ expected: [String], limit: Int = 50, timeout: Duration = .seconds(15)) async throws -> [String] {
        let deadline = ContinuousClock.now + timeout
        var last: [String] = []
        while ContinuousClock.now < deadline {
            last = (try? await wholeFeed(feed, limit: limit)) ?? []
            if last == expected { return last }
            try await Task.sleep(for: .milliseconds(25))
        }
        return last
    }
}

/// Atrarium record values for the end-to-end tests.
public enum AtrariumRecordValues {
    public static func config(_ id: String, access: String = "open", moderators: [String] = []) -> DataValue {
        [
            "$type": "net.atrarium.community.config", "name": "Herons", "hashtag": .string("#atrarium_" + id), "stage": "theme",
            "accessType": .string(access), "moderators": .array(moderators.map(DataValue.string)),
            "createdAt": .string(ATDatetime.now().string),
        ]
    }

    public static func membership(_ community: String, role: String = "member") -> DataValue {
        [
            "$type": "net.atrarium.community.membership", "community": .string(community), "role": .string(role), "status": "active",
            "joinedAt": .string(ATDatetime.now().string), "active": true,
        ]
    }

    public static func approval(_ community: String, member: String) -> DataValue {
        ["$type": "net.atrarium.community.approval", "community": .string(community), "member": .string(member), "createdAt": .string(ATDatetime.now().string)]
    }

    public static func hide(_ community: String, uri: String, cid: String) -> DataValue {
        [
            "$type": "net.atrarium.moderation.action", "action": "hide_post", "community": .string(community),
            "target": ["$type": "com.atproto.repo.strongRef", "uri": .string(uri), "cid": .string(cid)],
            "createdAt": .string(ATDatetime.now().string),
        ]
    }

    public static func block(_ community: String, did: String) -> DataValue {
        [
            "$type": "net.atrarium.moderation.action", "action": "block_user", "community": .string(community),
            "target": ["$type": "net.atrarium.moderation.action#userTarget", "did": .string(did)],
            "createdAt": .string(ATDatetime.now().string),
        ]
    }
}
