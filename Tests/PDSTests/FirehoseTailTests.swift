import ATProto
import Foundation
import PDSTestSupport
import Testing

@testable import PDS

/// `pds firehose tail`, the built command, against a real server.
@Suite("pds firehose tail")
struct FirehoseTailTests {
    static let pds = ProjectTools.root.appendingPathComponent(".build/debug/pds").path

    @Test func printsEveryEventAndStopsAtTheLimit() async throws {
        #expect(FileManager.default.isExecutableFile(atPath: Self.pds), "build the pds executable first (swift build)")
        guard FileManager.default.isExecutableFile(atPath: Self.pds) else { return }
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let alice = try await server.createAccount("alice")
        let created = try await server.procedure(
            "com.atproto.repo.createRecord",
            ["repo": .string(alice.did), "collection": "app.bsky.feed.post", "record": RepoEndpointTests.post(1)],
            token: alice.accessJwt)
        let rkey = try #require(created["uri"]?.stringValue?.split(separator: "/").last)

        let url = "ws://127.0.0.1:\(server.port)"
        let tail = try await ProjectTools.run(Self.pds, ["firehose", "tail", "--url", url, "--cursor", "0", "--limit", "4"])
        #expect(tail.status == 0, "\(tail.output)")
        let lines = tail.output.split(separator: "\n").map(String.init)
        #expect(lines.count == 4, "\(tail.output)")
        #expect(lines.first == "1 #identity \(alice.did) handle=alice.test")
        #expect(lines.contains("2 #account \(alice.did) active=true"))
        #expect(lines.last?.hasPrefix("4 #commit \(alice.did) rev=") == true)
        #expect(lines.last?.hasSuffix("create app.bsky.feed.post/\(rkey)") == true)

        let future = try await ProjectTools.run(Self.pds, ["firehose", "tail", "--url", url, "--cursor", "99"])
        #expect(future.status != 0 && future.output.contains("error FutureCursor"), "\(future.output)")
    }
}
