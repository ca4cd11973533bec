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

/// A consumer of the Jetstream-format view: every text message decoded as
/// JSON; it can send `options_update` messages.
final class JetstreamClient: Sendable {
    let events: AsyncStream<DataValue>
    private let outgoing: AsyncStream<String>.Continuation
    private let task: Task<Void, any Error>

    init(port: Int, query: String = "") {
        let (events, output) = AsyncStream.makeStream(of: DataValue.self)
        let (outgoingStream, outgoing) = AsyncStream.makeStream(of: String.self)
        self.events = events
        self.outgoing = outgoing
        var logger = Logger(label: "jetstream-test")
        logger.logLevel = .warning
        let url = "ws://127.0.0.1:\(port)/subscribe" + (query.isEmpty ? "" : "?" + query)
        task = Task { [logger] in
            defer { output.finish() }
            try await WebSocketClient.connect(url: url, configuration: .init(maxFrameSize: 16 << 20), logger: logger) {
                inbound, outbound, _ in
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask {
                        for await text in outgoingStream { try await outbound.write(.text(text)) }
                    }
                    for try await message in inbound.messages(maxSize: 16 << 20) {
                        guard case .text(let text) = message else { continue }
                        output.yield(try ATProtoJSON.decode(text, mode: .lenient))
                    }
                    group.cancelAll()
                }
            }
        }
    }

    func send(_ text: String) { outgoing.yield(text) }
    func close() { task.cancel() }

    /// Events until `done` holds for those received (or the stream ends).
    func collect(timeout: Duration = .seconds(30), until done: @escaping @Sendable ([DataValue]) -> Bool) async throws -> [DataValue] {
        let events = self.events
        return try await withThrowingTaskGroup(of: [DataValue]?.self) { group in
            group.addTask {
                var received: [DataValue] = []
                for await event in events {
                    received.append(event)
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
            guard let first else { throw TestError("timed out waiting for Jetstream events") }
            return first
        }
    }
}

extension TestServer {
    /// A Jetstream-format consumer, returned once the server has subscribed it.
    func jetstream(_ query: String = "") async throws -> JetstreamClient {
        let before = await services.sequencer.subscriberCount
        let client = JetstreamClient(port: port, query: query)
        for _ in 0..<500 {
            if await services.sequencer.subscriberCount > before { return client }
            try await Task.sleep(for: .milliseconds(10))
        }
        throw TestError("the /subscribe subscription did not start")
    }

    func like(_ session: Session, uri: String, cid: String) async throws -> Reply {
        try await procedure(
            "com.atproto.repo.createRecord",
            [
                "repo": .string(session.did), "collection": "app.bsky.feed.like",
                "record": ["$type": "app.bsky.feed.like", "subject": ["uri": .string(uri), "cid": .string(cid)],
                           "createdAt": .string(ATDatetime.now().string)],
            ], token: session.accessJwt)
    }
}

extension DataValue {
    var commitText: String? { self["commit"]?["record"]?["text"]?.stringValue }
}

@Suite("Jetstream-format view (/subscribe)")
struct JetstreamViewTests {
    @Test func commitsIdentityAndAccountEventsInJetstreamFormat() async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let alice = try await server.createAccount("alice")
        let client = try await server.jetstream()
        defer { client.close() }
        let created = try await server.post(alice.did, "hello jetstream", token: alice.accessJwt)
        let uri = try #require(created["uri"]?.stringValue)
        let rkey = String(uri.split(separator: "/").last!)
        let updated = try await server.procedure(
            "com.atproto.repo.putRecord",
            ["repo": .string(alice.did), "collection": "app.bsky.feed.post", "rkey": .string(rkey), "record": postValue("edited")],
            token: alice.accessJwt)
        #expect(updated.status == 200)
        let deleted = try await server.procedure(
            "com.atproto.repo.deleteRecord", ["repo": .string(alice.did), "collection": "app.bsky.feed.post", "rkey": .string(rkey)],
            token: alice.accessJwt)
        #expect(deleted.status == 200)
        let events = try await client.collect { $0.count == 3 }
        #expect(events.map { $0["commit"]?["operation"]?.stringValue } == ["create", "update", "delete"])
        for event in events {
            #expect(event["did"]?.stringValue == alice.did && event["kind"] == "commit")
            #expect(event["commit"]?["collection"] == "app.bsky.feed.post" && event["commit"]?["rkey"]?.stringValue == rkey)
            #expect((event["time_us"]?.intValue ?? 0) > 1_700_000_000_000_000)
        }
        #expect(events[0].commitText == "hello jetstream" && events[0]["commit"]?["cid"] == created["cid"])
        #expect(events[0]["commit"]?["rev"] == created["commit"]?["rev"])
        #expect(events[1].commitText == "edited" && events[1]["commit"]?["cid"] == updated["cid"])
        #expect(events[2]["commit"]?["record"] == nil && events[2]["commit"]?["cid"] == nil)
        let times = events.compactMap { $0["time_us"]?.intValue }
        #expect(times == times.sorted() && Set(times).count == 3)
        // A new account: identity then account (Jetstream has no #sync).
        let bob = try await server.createAccount("bob")
        let more = try await client.collect { $0.count == 2 }
        #expect(more.map { $0["kind"]?.stringValue } == ["identity", "account"])
        #expect(more[0]["identity"]?["handle"] == "bob.test" && more[0]["identity"]?["did"]?.stringValue == bob.did)
        #expect(more[1]["account"]?["active"] == true && more[1]["account"]?["seq"]?.intValue != nil)
    }

    @Test func wantedCollectionsPrefixesAndDidsFilter() async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let alice = try await server.createAccount("alice")
        let bob = try await server.createAccount("bob")
        let posts = try await server.jetstream("wantedCollections=app.bsky.feed.post")
        let feedPrefix = try await server.jetstream("wantedCollections=app.bsky.feed.*")
        let bobOnly = try await server.jetstream("wantedDids=\(bob.did)")
        defer { for client in [posts, feedPrefix, bobOnly] { client.close() } }
        let post = try await server.post(alice.did, "from alice", token: alice.accessJwt)
        let like = try await server.like(bob, uri: post["uri"]!.stringValue!, cid: post["cid"]!.stringValue!)
        #expect(like.status == 200)
        _ = try await server.post(bob.did, "from bob", token: bob.accessJwt)
        _ = try await server.adminProcedure("com.atproto.admin.updateSubjectStatus", [
            "subject": ["$type": "com.atproto.admin.defs#repoRef", "did": .string(alice.did)],
            "takedown": ["applied": true, "ref": "test"],
        ])
        let ofPosts = try await posts.collect { $0.count == 3 }
        #expect(ofPosts.map { $0.commitText ?? $0["kind"]!.stringValue! } == ["from alice", "from bob", "account"])
        #expect(ofPosts[2]["account"]?["status"] == "takendown")
        let ofFeed = try await feedPrefix.collect { $0.count == 4 }
        #expect(ofFeed.compactMap { $0["commit"]?["collection"]?.stringValue } == ["app.bsky.feed.post", "app.bsky.feed.like", "app.bsky.feed.post"])
        let ofBob = try await bobOnly.collect { $0.count == 2 }
        #expect(ofBob.allSatisfy { $0["did"]?.stringValue == bob.did })
        #expect(ofBob.map { $0["commit"]?["collection"]?.stringValue } == ["app.bsky.feed.like", "app.bsky.feed.post"])
    }

    @Test func cursorReplaysInclusivelyAcrossTheLiveBoundary() async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let alice = try await server.createAccount("alice")
        for i in 0..<10 { #expect(try await server.post(alice.did, "before \(i)", token: alice.accessJwt).status == 200) }
        let all = try await server.sequencedEvents()
        let fifth = try #require(all.first { $0.seq == 3 + 5 })  // "before 4"
        let writer = Task {
            for i in 0..<20 { _ = try await server.post(alice.did, "during \(i)", token: alice.accessJwt) }
        }
        let client = JetstreamClient(port: server.port, query: "wantedCollections=app.bsky.feed.post&cursor=\(fifth.timeUS)")
        defer { client.close() }
        try await writer.value
        let events = try await client.collect { $0.last?.commitText == "during 19" }
        #expect(events.compactMap(\.commitText) == (4..<10).map { "before \($0)" } + (0..<20).map { "during \($0)" })
        #expect(events.first?["time_us"]?.intValue == fifth.timeUS)

        // A cursor before everything retained starts at the oldest event;
        // one in the future is the live tail.
        let fromStart = JetstreamClient(port: server.port, query: "cursor=0")
        defer { fromStart.close() }
        let first = try await fromStart.collect { $0.count == 3 }
        #expect(first.map { $0["kind"]?.stringValue } == ["identity", "account", "commit"])
        let future = try await server.jetstream("cursor=\(fifth.timeUS + 3_600_000_000)")
        defer { future.close() }
        _ = try await server.post(alice.did, "after", token: alice.accessJwt)
        let live = try await future.collect { $0.count == 1 }
        #expect(live.first?.commitText == "after")
    }

    @Test func optionsUpdateAndRequireHello() async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let alice = try await server.createAccount("alice")
        let client = try await server.jetstream("wantedCollections=com.example.nothing")
        defer { client.close() }
        // Subscribed only once it has said hello.
        let waiting = JetstreamClient(port: server.port, query: "requireHello=true")
        defer { waiting.close() }
        _ = try await server.post(alice.did, "filtered out", token: alice.accessJwt)
        client.send(#"{"type": "options_update", "payload": {"wantedCollections": ["app.bsky.feed.post"], "wantedDids": []}}"#)
        // The update applies from the next event the stream sends on (the
        // post before it may or may not have been sent by then).
        var seen: [String] = []
        for i in 0..<30 where !seen.contains(where: { $0.hasPrefix("wanted") }) {
            _ = try await server.post(alice.did, "wanted \(i)", token: alice.accessJwt)
            seen += try await client.collect(timeout: .seconds(5)) { _ in true }.compactMap(\.commitText)
        }
        #expect(seen.last == "wanted 0" && seen.allSatisfy { $0 == "filtered out" || $0 == "wanted 0" }, "\(seen)")
        // Still not subscribed: nothing is sent before the hello.
        try await Task.sleep(for: .milliseconds(200))
        #expect(await server.services.sequencer.subscriberCount == 1)
        waiting.send(#"{"type": "options_update", "payload": {"wantedCollections": ["app.bsky.feed.*"]}}"#)
        for _ in 0..<500 where await server.services.sequencer.subscriberCount < 2 {
            try await Task.sleep(for: .milliseconds(10))
        }
        _ = try await server.post(alice.did, "after hello", token: alice.accessJwt)
        let hello = try await waiting.collect { $0.count == 1 }
        #expect(hello.first?.commitText == "after hello")
        // A malformed update closes the connection.
        client.send(#"{"type": "options_update", "payload": {"wantedCollections": ["not a nsid"]}}"#)
        _ = try await client.collect(timeout: .seconds(10)) { _ in false }.count
        for _ in 0..<500 where await server.services.sequencer.subscriberCount > 1 {
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(await server.services.sequencer.subscriberCount == 1)
    }

    @Test func badParametersAreRefusedBeforeTheUpgrade() async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        for query in [
            "cursor=-5", "cursor=abc", "wantedCollections=not_an_nsid", "wantedCollections=app.*",
            "wantedDids=alice", "compress=true", "maxMessageSizeBytes=big",
        ] {
            let socket = try RawWebSocket(port: server.port, path: "/subscribe?\(query)")
            let head = try await blocking { try socket.readHead() }
            #expect(head.status == 400, "\(query): \(head)")
        }
        let accepted = try RawWebSocket(port: server.port, path: "/subscribe?wantedCollections=app.bsky.*&wantedDids=did:plc:abc&cursor=0")
        #expect(try await blocking { try accepted.readHead() }.status == 101)
    }

    @Test func consumersThatDoNotAnswerPingsAreDisconnected() async throws {
        let server = try await TestServer.start { $0.websocketPingInterval = 1 }
        defer { Task { await server.stop() } }
        for path in ["/xrpc/com.atproto.sync.subscribeRepos", "/subscribe"] {
            let socket = try RawWebSocket(port: server.port, path: path)
            let head = try await blocking { try socket.readHead() }
            #expect(head.status == 101)
            let frames = try await blocking { try socket.readFramesUntilClose() }
            #expect(frames.first?.opcode == 9, "\(path): a ping comes first")
            #expect(frames.last?.opcode == 8, "\(path): then, with no pong, a close")
            for _ in 0..<500 where await server.services.sequencer.subscriberCount > 0 {
                try await Task.sleep(for: .milliseconds(10))
            }
            #expect(await server.services.sequencer.subscriberCount == 0)
        }
    }
}

/// A WebSocket client on a bare socket that does nothing on its own (it
/// never answers pings), for checking the server's side of the protocol.
final class RawWebSocket: @unchecked Sendable {
    private let fd: Int32
    private var buffer: [UInt8] = []

    init(port: Int, path: String) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestError("socket() failed") }
        var timeout = timeval(tv_sec: 20, tv_usec: 0)
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
            ("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nUpgrade: websocket\r\n"
                + "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n").utf8)
        guard request.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }) == request.count else {
            throw TestError("send() failed")
        }
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

    /// The HTTP response head: status, and for a refusal its body.
    func readHead() throws -> (status: Int, body: String) {
        while buffer.firstRange(of: Array("\r\n\r\n".utf8)) == nil { try fill() }
        let end = buffer.firstRange(of: Array("\r\n\r\n".utf8))!
        let head = String(decoding: buffer[0..<end.lowerBound], as: UTF8.self)
        buffer.removeFirst(end.upperBound)
        let status = Int(head.split(separator: " ").dropFirst().first ?? "") ?? 0
        guard status != 101 else { return (status, "") }
        let length = head.split(separator: "\r\n").first { $0.lowercased().hasPrefix("content-length:") }
            .flatMap { Int($0.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) } ?? 0
        return (status, String(decoding: try take(length), as: UTF8.self))
    }

    /// Frames (opcode and payload) until a close frame, which is included.
    func readFramesUntilClose() throws -> [(opcode: UInt8, payload: [UInt8])] {
        var frames: [(opcode: UInt8, payload: [UInt8])] = []
        while true {
            let start = try take(2)
            var length = Int(start[1] & 0x7f)
            if length == 126 { length = try take(2).reduce(0) { $0 << 8 | Int($1) } }
            if length == 127 { length = try take(8).reduce(0) { $0 << 8 | Int($1) } }
            frames.append((start[0] & 0x0f, try take(length)))
            if start[0] & 0x0f == 8 { return frames }
        }
    }
}
