import ATProto
import Foundation
import HTTPTypes
import HummingbirdWSClient
import JetstreamCompression
import Logging
import PDSTestSupport
import Sequencer
import Synchronization
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@testable import PDS

/// A consumer of the Jetstream-format view: every text message decoded as
/// JSON (binary ones too, after zstd when given a decompressor); it can
/// send `options_update` messages.
final class JetstreamClient: Sendable {
    let events: AsyncStream<DataValue>
    private let outgoing: AsyncStream<String>.Continuation
    private let task: Task<Void, any Error>
    private let kinds = MessageKinds()

    /// How many text and binary messages arrived.
    var messageKinds: (text: Int, binary: Int) { kinds.counts.withLock { $0 } }

    init(port: Int, query: String = "", headers: HTTPFields = [:], decompressor: ZstdDecompressor? = nil) {
        let (events, output) = AsyncStream.makeStream(of: DataValue.self)
        let (outgoingStream, outgoing) = AsyncStream.makeStream(of: String.self)
        self.events = events
        self.outgoing = outgoing
        var logger = Logger(label: "jetstream-test")
        logger.logLevel = .warning
        let url = "ws://127.0.0.1:\(port)/subscribe" + (query.isEmpty ? "" : "?" + query)
        let kinds = kinds
        task = Task { [logger] in
            defer { output.finish() }
            try await WebSocketClient.connect(
                url: url, configuration: .init(maxFrameSize: 16 << 20, additionalHeaders: headers), logger: logger
            ) {
                inbound, outbound, _ in
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask {
                        for await text in outgoingStream { try await outbound.write(.text(text)) }
                    }
                    for try await message in inbound.messages(maxSize: 16 << 20) {
                        switch message {
                        case .text(let text):
                            kinds.counts.withLock { $0.text += 1 }
                            output.yield(try ATProtoJSON.decode(text, mode: .lenient))
                        case .binary(let bytes):
                            kinds.counts.withLock { $0.binary += 1 }
                            guard let decompressor else { continue }
                            let json = try decompressor.decompress(Array(bytes.readableBytesView), limit: 16 << 20)
                            output.yield(try ATProtoJSON.decode(String(decoding: json, as: UTF8.self), mode: .lenient))
                        }
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
        try await collectElements(of: events, timeout: timeout, until: done)
    }
}

/// Counts a consumer's text and binary messages.
final class MessageKinds: Sendable {
    let counts = Mutex<(text: Int, binary: Int)>((0, 0))
}

extension TestServer {
    /// A Jetstream-format consumer, returned once the server has subscribed it.
    func jetstream(_ query: String = "", headers: HTTPFields = [:], decompressor: ZstdDecompressor? = nil) async throws -> JetstreamClient {
        let before = await services.sequencer.subscriberCount
        let client = JetstreamClient(port: port, query: query, headers: headers, decompressor: decompressor)
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
            "wantedDids=alice", "maxMessageSizeBytes=big", "compress=true&cursor=-1",
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
