import ATProto
import Foundation
import HummingbirdWSClient
import Logging
import PDSTestSupport
import Sequencer
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@testable import PDS

@Suite("subscribeRepos over WebSocket")
struct SubscribeReposTests {
    @Test func liveTailSeesNewCommits() async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let alice = try await server.createAccount("alice")
        let client = try await server.firehose()
        defer { client.close() }
        for i in 0..<3 { #expect(try await server.post(alice.did, "live \(i)", token: alice.accessJwt).status == 200) }
        let frames = try await client.collect { $0.count == 3 }
        #expect(frames.map(\.type) == ["#commit", "#commit", "#commit"])
        #expect(frames.map(\.seq) == [4, 5, 6])
        #expect(frames.allSatisfy { $0.body["repo"]?.stringValue == alice.did })
        // A new account's events arrive too.
        let bob = try await server.createAccount("bob")
        let more = try await client.collect { $0.count == 3 }
        #expect(more.map(\.type) == ["#identity", "#account", "#sync"] && more.map(\.seq) == [7, 8, 9])
        #expect(more[0].body["did"]?.stringValue == bob.did)
        // Events another process appends (the command line on the same
        // database) reach live consumers too.
        _ = try await server.services.pool.write { db in
            try Sequencer.append(.identity(did: try DID(bob.did), handle: try Handle("elsewhere.test")), db: db)
        }
        let polled = try await client.collect { $0.count == 1 }
        #expect(polled.first?.seq == 10 && polled.first?.body["handle"] == "elsewhere.test")
        // A consumer that goes away is unsubscribed.
        client.close()
        for _ in 0..<500 where server.services.firehose.connectionCount > 0 {
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(server.services.firehose.connectionCount == 0)
    }

    @Test func replayFromCursorWhileWritingYieldsEverySeqOnce() async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let alice = try await server.createAccount("alice")
        let bob = try await server.createAccount("bob")
        for i in 0..<15 { #expect(try await server.post(alice.did, "before \(i)", token: alice.accessJwt).status == 200) }
        let writer = Task {
            for i in 0..<25 {
                _ = try await server.post(i % 2 == 0 ? alice.did : bob.did, "during \(i)", token: i % 2 == 0 ? alice.accessJwt : bob.accessJwt)
            }
        }
        let client = FirehoseClient(port: server.port, cursor: 2)
        defer { client.close() }
        try await writer.value
        let latest = try await server.latestSeq()
        #expect(latest == 6 + 15 + 25)
        let frames = try await client.collect { $0.last?.seq == latest }
        #expect(frames.compactMap(\.seq) == Array(3...latest))
        #expect(frames.allSatisfy { $0.error == nil })
    }

    @Test func futureCursorIsAnError() async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        _ = try await server.createAccount("alice")
        let client = FirehoseClient(port: server.port, cursor: 1_000)
        defer { client.close() }
        let frames = try await client.collect { _ in false }  // until the server closes
        #expect(frames.count == 1 && frames.first?.error == "FutureCursor")
        // The cursor of the latest event is fine: live tail.
        let current = try await server.firehose(cursor: 3)
        current.close()
    }

    @Test func outdatedCursorReplaysFromTheOldest() async throws {
        let server = try await TestServer.start { $0.sequencerMaxEvents = 3 }
        defer { Task { await server.stop() } }
        let alice = try await server.createAccount("alice")
        for i in 0..<3 { #expect(try await server.post(alice.did, "p\(i)", token: alice.accessJwt).status == 200) }
        _ = try await SequencerPruner(services: server.services).runOnce()
        let client = FirehoseClient(port: server.port, cursor: 1)
        defer { client.close() }
        let frames = try await client.collect { $0.count == 4 }
        #expect(frames[0].type == "#info" && frames[0].body["name"] == "OutdatedCursor")
        #expect(frames.dropFirst().map(\.seq) == [4, 5, 6])
    }

    @Test func stalledConsumerIsCutOffWhileOthersKeepReceiving() async throws {
        let server = try await TestServer.start { $0.subscriberBufferSize = 4 }
        defer { Task { await server.stop() } }
        let alice = try await server.createAccount("alice")
        let stalled = try StalledSocketConsumer(port: server.port)
        for _ in 0..<500 where server.services.firehose.connectionCount < 1 {
            try await Task.sleep(for: .milliseconds(10))
        }
        let reader = try await server.firehose()
        defer { reader.close() }
        // Big commits (about 1.6 MB each) fill the socket buffers quickly.
        let commits = 16
        for c in 0..<commits {
            let writes: [DataValue] = (0..<8).map { i in
                ["$type": "com.atproto.repo.applyWrites#create", "collection": "com.example.big",
                 "value": ["$type": "com.example.big", "data": .string("\(c)-\(i)-" + String(repeating: "x", count: 200_000))]]
            }
            let reply = try await server.applyWrites(alice, writes)
            #expect(reply.status == 200, "\(reply.text)")
        }
        let received = try await reader.collect { $0.count == commits }
        #expect(received.map(\.seq) == Array(4...Int64(3 + commits)))
        #expect(server.services.firehose.connectionCount == 1)
        let cutOff = try await blocking { try stalled.readFrames { $0.error != nil } }
        #expect(cutOff.last?.error == "ConsumerTooSlow", "\(cutOff.count) frames: \(cutOff.map { $0.seq.map(String.init) ?? $0.error ?? "?" })")
        #expect(cutOff.count < commits)
        #expect(cutOff.dropLast().compactMap(\.seq) == Array(4..<(4 + Int64(cutOff.count - 1))))
    }
}

/// Runs blocking work off the cooperative pool.
func blocking<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        DispatchQueue.global().async { continuation.resume(with: Result { try work() }) }
    }
}

/// The Python atproto SDK (installed by scripts/test in .build/python-venv)
/// reading our firehose: an independent frame, CAR and model decoder.
@Suite("subscribeRepos read by the Python SDK")
struct FirehosePythonSDKTests {
    @Test func sdkParsesEveryEvent() async throws {
        let python = ProjectTools.python
        #expect(FileManager.default.isExecutableFile(atPath: python), "no Python venv: run scripts/test")
        guard FileManager.default.isExecutableFile(atPath: python) else { return }
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let alice = try await server.createAccount("alice")
        let bob = try await server.createAccount("bob")
        var rkeys: [String] = []
        for i in 0..<4 {
            let reply = try await server.post(alice.did, "post \(i)", token: alice.accessJwt)
            rkeys.append(String(try #require(reply["uri"]?.stringValue).split(separator: "/").last!))
        }
        let mixed = try await server.applyWrites(alice, [
            ["$type": "com.atproto.repo.applyWrites#update", "collection": "app.bsky.feed.post", "rkey": .string(rkeys[0]),
             "value": postValue("edited")],
            ["$type": "com.atproto.repo.applyWrites#delete", "collection": "app.bsky.feed.post", "rkey": .string(rkeys[1])],
        ])
        #expect(mixed.status == 200)
        #expect(try await server.procedure("com.atproto.server.deactivateAccount", token: bob.accessJwt).status == 200)
        let expected = try await server.latestSeq()
        let (status, output) = try await ProjectTools.runPython(
            script: "Tests/Python/firehose_check.py", arguments: ["ws://127.0.0.1:\(server.port)/xrpc", String(expected)])
        print("python firehose: \(output.trimmingCharacters(in: .whitespacesAndNewlines).suffix(600))")
        #expect(status == 0, "\(output)")
        #expect(output.contains("OK: \(expected) events"))
    }
}
