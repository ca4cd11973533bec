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
        let frames = self.frames
        return try await withThrowingTaskGroup(of: [FirehoseFrame]?.self) { group in
            group.addTask {
                var received: [FirehoseFrame] = []
                for await frame in frames {
                    received.append(frame)
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
            guard let first else { throw TestError("timed out waiting for frames") }
            return first
        }
    }
}

/// A bare WebSocket consumer on a POSIX socket with a tiny receive buffer,
/// so that not reading really stalls it at the TCP level (the NIO client
/// and the kernel's autotuned buffers would otherwise absorb many MB).
final class StalledSocketConsumer: @unchecked Sendable {
    private let fd: Int32
    private var buffer: [UInt8] = []

    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestError("socket() failed") }
        var size: Int32 = 4096
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        var timeout = timeval(tv_sec: 30, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw TestError("connect() failed") }
        let request = Array(
            ("GET /xrpc/com.atproto.sync.subscribeRepos HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nUpgrade: websocket\r\n"
                + "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n").utf8)
        guard request.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }) == request.count else { throw TestError("send() failed") }
    }

    deinit { close(fd) }

    private func fill() throws {
        var chunk = [UInt8](repeating: 0, count: 65_536)
        let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        guard n > 0 else { throw TestError("the connection ended (or timed out)") }
        buffer += chunk[0..<n]
    }

    private func take(_ count: Int) throws -> [UInt8] {
        while buffer.count < count { try fill() }
        let out = Array(buffer[0..<count])
        buffer.removeFirst(count)
        return out
    }

    /// Reads (blocking) the upgrade response and then frames until a frame
    /// satisfies `last` or the server closes.
    func readFrames(until last: (FirehoseFrame) -> Bool) throws -> [FirehoseFrame] {
        while !buffer.starts(with: Array("HTTP".utf8)) || buffer.firstRange(of: Array("\r\n\r\n".utf8)) == nil {
            do { try fill() } catch { throw TestError("ended in the HTTP head: \(String(decoding: buffer, as: UTF8.self))") }
        }
        let head = buffer.firstRange(of: Array("\r\n\r\n".utf8))!
        guard String(decoding: buffer[0..<head.lowerBound], as: UTF8.self).hasPrefix("HTTP/1.1 101") else {
            throw TestError("no WebSocket upgrade")
        }
        buffer.removeFirst(head.upperBound)
        var frames: [FirehoseFrame] = []
        while true {
            guard let start = try? take(2) else { return frames }  // the connection ended
            let opcode = start[0] & 0x0f
            var length = Int(start[1] & 0x7f)
            if length == 126 { length = try take(2).reduce(0) { $0 << 8 | Int($1) } }
            if length == 127 { length = try take(8).reduce(0) { $0 << 8 | Int($1) } }
            let payload: [UInt8]
            do { payload = try take(length) } catch { throw TestError("ended inside a frame of \(length) bytes (opcode \(opcode)) after \(frames.count) frames: \(frames.map { $0.seq.map(String.init) ?? $0.error ?? "?" })") }
            if opcode == 8 { return frames }  // close
            guard opcode == 2 else { continue }  // pings
            let (header, body) = try Frames.decode(payload)
            frames.append(FirehoseFrame(header: header, body: body))
            if last(frames[frames.count - 1]) { return frames }
        }
    }
}

extension TestServer {
    func firehose(cursor: Int64? = nil, stalled: Bool = false, expectSubscribers: Int? = nil) async throws -> FirehoseClient {
        let before = await services.sequencer.subscriberCount
        let client = FirehoseClient(port: port, cursor: cursor, stalled: stalled)
        // Wait until the server has subscribed it (so no live event is missed).
        let target = expectSubscribers ?? before + 1
        for _ in 0..<500 {
            if await services.sequencer.subscriberCount >= target { return client }
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
        for _ in 0..<500 where await server.services.sequencer.subscriberCount > 0 {
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(await server.services.sequencer.subscriberCount == 0)
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
        for _ in 0..<500 where await server.services.sequencer.subscriberCount < 1 {
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
        #expect(await server.services.sequencer.subscriberCount == 1)
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
