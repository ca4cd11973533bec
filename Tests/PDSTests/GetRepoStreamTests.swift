import ATProto
import Foundation
import PDSTestSupport
import Testing

/// `getRepo` streams a CAR from a read transaction while the client reads
/// it. Clients that go away mid-download must cost the server nothing.
@Suite("getRepo streaming")
struct GetRepoStreamTests {
    /// Before the fix, the first round crashed the server: the export's
    /// credit semaphore was freed below its starting value when the client
    /// left, and libdispatch traps on that.
    @Test func clientsLeavingMidDownloadNeitherCrashTheServerNorKeepItsReaders() async throws {
        #expect(FileManager.default.isExecutableFile(atPath: ServerProcess.binary), "build the pds binary first")
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("pds-getrepo-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: data) }
        let server = try await ServerProcess(dataDirectory: data)
        let alice = try await server.createAccount("alice")
        // 40 records of 400 KB: a 16 MB CAR, more than loopback sockets buffer.
        let big = String(repeating: "x", count: 400_000)
        for i in 0..<40 {
            let reply = try await server.procedure(
                "com.atproto.repo.createRecord",
                ["repo": .string(alice.did), "collection": "com.example.blob", "validate": false,
                 "record": ["$type": "com.example.blob", "data": .string(big + String(i))]],
                token: alice.accessJwt)
            try #require(reply.status == 200, "\(reply.text)")
        }
        let request = "GET /xrpc/com.atproto.sync.getRepo?did=\(alice.did) HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
        for round in 0..<3 {
            // Eight clients start the download, read nothing, and leave.
            var clients = try (0..<8).map { _ in try RawHTTPConnection(port: server.port) }
            for client in clients { client.send(request) }
            try await Task.sleep(for: .milliseconds(500))
            clients.removeAll()
            try await Task.sleep(for: .milliseconds(300))
            #expect(try await server.query("_health").status == 200, "round \(round): the server is gone")
        }
        // The exports gave their reader connections back: more downloads
        // than there are readers (5) all complete.
        let sizes = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<6 {
                group.addTask { try await server.query("com.atproto.sync.getRepo", [("did", alice.did)]).body.count }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(sizes.count == 6 && sizes.allSatisfy { $0 > 16_000_000 }, "\(sizes)")
        await server.stop()
    }
}
