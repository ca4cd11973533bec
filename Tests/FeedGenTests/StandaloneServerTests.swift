import ATProto
import FeedGen
import Foundation
import Hummingbird
import Logging
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// `pds feedgen serve`'s application: the feed generator alone over HTTP,
/// fed by a Jetstream endpoint.
@Suite("Standalone feed generator server")
struct StandaloneServerTests {
    @Test func servesFeedsFromJetstreamOverHTTP() async throws {
        let owner = "did:plc:owner000000000000000000"
        let id = "57a0d10e"
        let base: Int64 = 1_790_000_000_000_000
        let post = Records.post("standalone #atrarium_\(id)", at: Date())
        let jetstream = FakeJetstream(
            messages: [
                JetstreamIngestTests.commit(owner, base + 1, "net.atrarium.community.config", "self", "create", record: Records.config(id: id)),
                JetstreamIngestTests.commit(owner, base + 2, "app.bsky.feed.post", "p1", "create", record: post),
            ], cutAfter: 2)
        let jetstreamPort = try await jetstream.start()
        var config = FeedGenConfig()
        config.port = 0
        config.jetstreamURLs = ["ws://127.0.0.1:\(jetstreamPort)/subscribe"]
        config.batchIntervalMilliseconds = 50
        let f = try FeedGenFixture(config: config)
        defer { f.remove() }
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        let app = FeedGenHTTPServer.application(generator: f.generator) { port in
            continuation.yield(port)
            continuation.finish()
        }
        let running = Task { try await app.runService() }
        var port = 0
        for await p in ports { port = p }

        func get(_ path: String) async throws -> (Int, DataValue?) {
            let (data, response) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)" + path)!)
            return ((response as! HTTPURLResponse).statusCode, try? ATProtoJSON.decode(Array(data), mode: .lenient))
        }
        let feed = FeedGenerator.feedURI(communityID: id, owner: try DID(owner))
        let query = "/xrpc/app.bsky.feed.getFeedSkeleton?feed=" + feed.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
        var posts: [String] = []
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            let (status, body) = try await get(query)
            posts = status == 200 ? (body?["feed"]?.arrayValue?.compactMap { $0["post"]?.stringValue } ?? []) : []
            if !posts.isEmpty { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(posts == ["at://\(owner)/app.bsky.feed.post/p1"])
        let (unknownStatus, unknown) = try await get("/xrpc/app.bsky.feed.getFeedSkeleton?feed=at%3A%2F%2Fdid%3Aplc%3Ax%2Fapp.bsky.feed.generator%2Fatrarium-00000000")
        #expect(unknownStatus == 400 && unknown?["error"]?.stringValue == "UnknownFeed")
        let (_, description) = try await get("/xrpc/app.bsky.feed.describeFeedGenerator")
        #expect(description?["did"]?.stringValue == FeedGenFixture.generatorDID)
        let (didStatus, didDoc) = try await get("/.well-known/did.json")
        #expect(didStatus == 200 && didDoc?["service"]?[0]?["id"]?.stringValue == "#bsky_fg")

        running.cancel()
        _ = try? await running.value
        await jetstream.stop()
    }
}

extension DataValue {
    subscript(index: Int) -> DataValue? {
        guard let array = arrayValue, array.indices.contains(index) else { return nil }
        return array[index]
    }
}
