import ATProto
import FeedGen
import Foundation
import Logging
import PDSTestSupport
import Sequencer
import Testing

@testable import PDS

/// The feed generator's local ingest follows the live events the hub hands
/// over, and reads the log instead whenever it fell behind: with room for
/// no waiting event (every hand-over overflows, so all comes from the log)
/// or three, and a burst of concurrent writes, every post still reaches
/// the feed, once.
@Suite("Local ingest")
struct LocalIngestTests {
    let id = "c0ffee02"

    @Test(arguments: [0, 3]) func aBurstPastTheLiveLimitIsReadFromTheLog(liveLimit: Int) async throws {
        var feedConfig = FeedGenConfig()
        feedConfig.localIngest = false  // this test runs its own source
        let (server, box) = try await TestServer.startWithFeedGen(feedConfig: feedConfig)
        defer { Task { await server.stop() } }
        let generator = box.generator
        var logger = Logger(label: "local-ingest-test")
        logger.logLevel = .warning
        let source = LocalSequencerSource(
            reader: server.services.pool, hub: server.services.sequencer, buffer: generator.buffer, filter: generator.filter,
            queue: generator.queue, logger: logger, maxEventBytes: 256 * 1024, liveLimit: liveLimit)
        let running = Task { try await source.run() }
        defer { running.cancel() }

        let owner = try await server.createAccount("owner")
        let members = [try await server.createAccount("alice"), try await server.createAccount("bob")]
        let community = try await server.createRecord(owner, "net.atrarium.community.config", AtrariumRecordValues.config(id)).uri
        for member in members {
            _ = try await server.createRecord(member, "net.atrarium.community.membership", AtrariumRecordValues.membership(community))
        }
        let start = Date()
        let posts = try await withThrowingTaskGroup(of: (Int, String).self) { group in
            for n in 0..<40 {
                group.addTask {
                    let uri = try await server.createPost(
                        members[n % 2], "burst \(n) #atrarium_\(id)", createdAt: start.addingTimeInterval(Double(n) / 1000 - 1))
                    return (n, uri)
                }
            }
            var uris = [String](repeating: "", count: 40)
            for try await (n, uri) in group { uris[n] = uri }
            return uris
        }
        let feed = FeedGenerator.feedURI(communityID: id, owner: try DID(owner.did))
        let expected = Array(posts.reversed())
        #expect(try await server.awaitFeed(feed, expected, limit: 100) == expected)
        // The source's cursor reached the end of the log.
        let last = try await server.services.pool.read { db in try Sequencer.latestSeq(db: db) }
        var cursor: Int64?
        for _ in 0..<200 {
            cursor = try await generator.queue.cursor(source: LocalSequencerSource.sourceName)
            if cursor == last { break }
            try await Task.sleep(for: .milliseconds(25))
        }
        #expect(cursor == last)
    }
}
