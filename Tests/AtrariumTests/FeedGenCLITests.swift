import ATProto
import FeedGen
import Foundation
import GRDB
import PDSTestSupport
import TestSupport
import Testing

@testable import PDS

/// `pds feedgen rebuild`, run as the built binary on a server's data directory.
@Suite("Feed generator command line")
struct FeedGenCLITests {
    @Test func rebuildReplaysTheLocalLogIntoAnEmptyIndex() async throws {
        let id = "feed0001"
        let (server, _) = try await TestServer.startWithFeedGen()
        let owner = try await server.createAccount("owner")
        _ = try await server.createRecord(owner, "net.atrarium.community.config", AtrariumRecordValues.config(id))
        let feed = FeedGenerator.feedURI(communityID: id, owner: try DID(owner.did))
        let t = Date()
        var posts: [String] = []
        for n in 0..<5 { posts.append(try await server.createPost(owner, "post \(n) #atrarium_\(id)", createdAt: t.addingTimeInterval(Double(n - 10)))) }
        #expect(try await server.awaitFeed(feed, posts.reversed()) == posts.reversed())
        let dataDirectory = server.services.config.dataDirectory
        await server.stop(keepData: true)
        defer { try? FileManager.default.removeItem(atPath: dataDirectory) }

        // Lose the feed database entirely, then rebuild it from the log.
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: dataDirectory + "/feedgen.sqlite" + suffix) }
        let result = try await ProjectTools.pds(["feedgen", "rebuild", "--data-dir", dataDirectory])
        #expect(result.status == 0, "\(result.err)")
        #expect(result.out.contains("1 communities; queue 0, dead letters 0"), "\(result.out)")

        // A rebuild can also set where the Jetstream endpoints resume.
        let endpoint = "wss://jetstream.example.com/subscribe"
        let withCursor = try await ChildProcess.run(
            ProjectTools.pds, ["feedgen", "rebuild", "--data-dir", dataDirectory, "--jetstream-cursor", "1790000000000000"],
            environment: ["PATH": "/usr/bin:/bin", "PDS_FEEDGEN_JETSTREAM": endpoint], standardError: .collect)
        #expect(withCursor.status == 0, "\(withCursor.error)")
        #expect(withCursor.output.contains("resume from cursor 1790000000000000"), "\(withCursor.output)")
        let saved = try await DatabaseQueue(path: dataDirectory + "/feedgen.sqlite").read { db in
            try Int64.fetchOne(db, sql: "SELECT cursor FROM ingest_cursor WHERE source = ?", arguments: [FeedGen.JetstreamClient.sourceName(endpoint)])
        }
        #expect(saved == 1_790_000_000_000_000)

        let (restarted, _) = try await TestServer.startWithFeedGen { $0.dataDirectory = dataDirectory }
        defer { Task { await restarted.stop() } }
        #expect(try await restarted.wholeFeed(feed) == posts.reversed())
    }
}
