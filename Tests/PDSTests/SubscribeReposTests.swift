import ATProto
import Foundation
import HummingbirdWSClient
import Logging
import Sequencer
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@testable import PDS

/// One decoded `subscribeRepos` frame.
struct FirehoseFrame: Sendable {
    let header: DataMap
    let body: DataMap
    var seq: Int64? { body["seq"]?.intValue }
    var type: String? { header["t"]?.stringValue }
    /// The error name of an error frame.
    var error: String? { header["op"] == -1 ? body["error"]?.stringValue : nil }
}

/// A WebSocket consumer of `subscribeRepos`. A stalled one reads nothing
/// until ``resume()``.
final class FirehoseClient: Sendable {
    let frames: AsyncStream<FirehoseFrame>
    private let gate: AsyncStream<Void>.Continuation
    private let task: Task<Void, any Error>

    init(port: Int, cursor: Int64? = nil, stalled: Bool = false) {
        let (frames, output) = AsyncStream.makeStream(of: FirehoseFrame.self)
        let (gateStream, gate) = AsyncStream.makeStream(of: Void.self)
        if !stalled { gate.finish() }
        self.frames = frames
        self.gate = gate
        var url = "ws://127.0.0.1:\(port)/xrpc/com.atproto.sync.subscribeRepos"
        if let cursor { url += "?cursor=\(cursor)" }
        var logger = Logger(label: "firehose-test")
        logger.logLevel = .warning
        task = Task { [logger] in
            defer { output.finish() }
            try await WebSocketClient.connect(url: url, configuration: .init(maxFrameSize: 16 << 20), logger: logger) {
                inbound, _, _ in
                for await _ in gateStream {}
                for try await message in inbound.messages(maxSize: 16 << 20) {
                    guard case .binary(let buffer) = message else { continue }
                    let (header, body) = try Frames.decode(Array(buffer.readableBytesView))
                    output.yield(FirehoseFrame(header: header, body: body))
                }
            }
        }
    }

    func resume() { gate.finish() }
    func close() { task.cancel() }

    /// Frames until `done` holds for those received (or the stream ends).
    func collect(timeout: Duration = .seconds(30), until done: @escaping @Sendable ([FirehoseFrame]) -> Bool) async throws
        -> [FirehoseFrame]
    {
        try await collectElements(of: frames, timeout: timeout, until: done)
    }
}

/// The elements of `stream` until `done` holds for those received (or the
/// stream ends); an error when `timeout` passes first.
func collectElements<Element: Sendable>(
    of stream: AsyncStream<Element>, timeout: Duration, until done: @escaping @Sendable ([Element]) -> Bool
) async throws -> [Element] {
    try await withThrowingTaskGroup(of: [Element]?.self) { group in
        group.addTask {
            var received: [Element] = []
            for await element in stream {
                received.append(element)
                if done(received) { break }
            }
            return received
        }
        group.addTask {
            try await Task.sleep(for: timeout)
            return nil
        }
        let first = try await group.next()!
        group.cancelAll()
        guard let first else { throw TestError("timed out waiting for \(Element.self) values") }
        return first
    }
}

/// A `subscribeRepos` consumer that reads nothing until asked, on a bare
/// socket with a tiny receive buffer, so that not reading really stalls it
/// at the TCP level (the NIO client and the kernel's autotuned buffers
/// would otherwise absorb many MB).
final class StalledSocketConsumer: @unchecked Sendable {
    private let socket: RawWebSocket

    init(port: Int) throws {
        socket = try RawWebSocket(port: port, path: "/xrpc/com.atproto.sync.subscribeRepos", receiveBuffer: 4096)
    }

    /// Reads (blocking) the upgrade response and then frames until a frame
    /// satisfies `last` or the server closes.
    func readFrames(until last: (FirehoseFrame) -> Bool) throws -> [FirehoseFrame] {
        guard try socket.readHead().status == 101 else { throw TestError("no WebSocket upgrade") }
        var frames: [FirehoseFrame] = []
        while true {
            let frame: (opcode: UInt8, payload: [UInt8])
            do {
                frame = try socket.readFrame()
            } catch let error as TestError where error.description.contains("inside a frame") {
                throw TestError("\(error) after \(frames.count) frames")
            } catch {
                return frames  // the connection ended
            }
            if frame.opcode == 8 { return frames }  // close
            guard frame.opcode == 2 else { continue }  // pings
            let (header, body) = try Frames.decode(frame.payload)
            frames.append(FirehoseFrame(header: header, body: body))
            if last(frames[frames.count - 1]) { return frames }
        }
    }
}

extension TestServer {
    func firehose(cursor: Int64? = nil, stalled: Bool = false, expectSubscribers: Int? = nil) async throws -> FirehoseClient {
        let before = services.firehose.connectionCount
        let client = FirehoseClient(port: port, cursor: cursor, stalled: stalled)
        // Wait until the server has subscribed it (so no live event is missed).
        let target = expectSubscribers ?? before + 1
        for _ in 0..<500 {
            if services.firehose.connectionCount >= target { return client }
            try await Task.sleep(for: .milliseconds(10))
        }
        throw TestError("the firehose subscription did not start")
    }

    func latestSeq() async throws -> Int64 {
        try await services.pool.read { db in try Sequencer.latestSeq(db: db) }
    }
}

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
            try Sequencer.append(.identity(did: bob.did, handle: "elsewhere.test"), db: db)
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
        let python = PythonSDKTests.python
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
        let (status, output) = try await PythonSDKTests.runPython(
            script: "Tests/Python/firehose_check.py", arguments: ["ws://127.0.0.1:\(server.port)/xrpc", String(expected)])
        print("python firehose: \(output.trimmingCharacters(in: .whitespacesAndNewlines).suffix(600))")
        #expect(status == 0, "\(output)")
        #expect(output.contains("OK: \(expected) events"))
    }
}
