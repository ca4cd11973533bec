import ATProto
import FeedGen
import Foundation
import Hummingbird
import HummingbirdWebSocket
import JetstreamCompression
import Logging
import NIOCore
import Synchronization
import Testing

/// A Jetstream server on loopback that replays recorded messages: the
/// first connection gets the first `cutAfter` and is then dropped; later
/// ones get every message from their `cursor` on (so a rewound cursor
/// brings duplicates) and stay open. With a compressor, a connection that
/// asks for `compress=true` gets each message as a zstd frame, as
/// Jetstream sends them; `raw` replaces the message at an index by a
/// binary message of its own (a broken frame, say).
final class FakeJetstream: Sendable {
    let messages: [(time: Int64, json: String)]
    let cutAfter: Int
    let compressor: ZstdCompressor?
    let raw: [Int: [UInt8]]
    private let connections = Mutex<[String]>([])
    private let task: Mutex<Task<Void, any Error>?> = Mutex(nil)

    init(messages: [(time: Int64, json: String)], cutAfter: Int, compressor: ZstdCompressor? = nil, raw: [Int: [UInt8]] = [:]) {
        self.messages = messages
        self.cutAfter = cutAfter
        self.compressor = compressor
        self.raw = raw
    }

    /// The query strings of the connections so far.
    var queries: [String] { connections.withLock { $0 } }

    func start() async throws -> Int {
        let router = Router(context: BasicWebSocketRequestContext.self)
        router.ws("/subscribe") { [self] inbound, outbound, context in
            let query = context.request.uri.query ?? ""
            let number = connections.withLock { list in
                list.append(query)
                return list.count
            }
            let cursor = context.request.uri.queryParameters.get("cursor").flatMap { Int64($0) }
            let compress = compressor != nil && context.request.uri.queryParameters.get("compress") == "true"
            let indices = number == 1 ? Array(0..<min(cutAfter, messages.count)) : messages.indices.filter { messages[$0].time >= (cursor ?? 0) }
            for index in indices {
                if let bytes = raw[index] {
                    try await outbound.write(.binary(ByteBuffer(bytes: bytes)))
                } else if compress, let compressor {
                    try await outbound.write(.binary(ByteBuffer(bytes: compressor.compress(Array(messages[index].json.utf8)))))
                } else {
                    try await outbound.write(.text(messages[index].json))
                }
            }
            if number == 1 { return }  // drop the connection
            for try await _ in inbound {}
        }
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        var logger = Logger(label: "fake-jetstream")
        logger.logLevel = .critical
        let app = Application(
            router: Router(), server: .http1WebSocketUpgrade(webSocketRouter: router),
            configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in
                continuation.yield(channel.localAddress?.port ?? 0)
                continuation.finish()
            }, logger: logger)
        task.withLock { $0 = Task { try await app.runService() } }
        var port = 0
        for await p in ports { port = p }
        return port
    }

    func stop() async {
        let running = task.withLock { $0 }
        running?.cancel()
        _ = try? await running?.value
    }
}

@Suite("Jetstream ingest")
struct JetstreamIngestTests {
    let owner = "did:plc:owner000000000000000000"
    let alice = "did:plc:alice0000000000000000000"
    let bob = "did:plc:bob00000000000000000000"
    let id = "0badc0de"

    /// A feed generator reading the fake Jetstream on `port`: 4 KB events,
    /// no rewind, quick batches.
    static func config(jetstreamPort port: Int) -> FeedGenConfig {
        var config = FeedGenConfig()
        config.jetstreamURLs = ["ws://127.0.0.1:\(port)/subscribe"]
        config.maxEventBytes = 4096
        config.jetstreamRewindSeconds = 0
        config.batchIntervalMilliseconds = 50
        return config
    }

    static func commit(_ did: String, _ time: Int64, _ collection: String, _ rkey: String, _ operation: String, record: DataValue? = nil)
        -> (time: Int64, json: String)
    {
        var commit: DataMap = ["rev": "3l3qo2vutsw2b", "operation": .string(operation), "collection": .string(collection), "rkey": .string(rkey)]
        if let record {
            commit["record"] = record
            commit["cid"] = .string(Records.cid(ATProtoJSON.encodeString(record) + rkey))
        }
        return (time, ATProtoJSON.encodeString(["did": .string(did), "time_us": .int(time), "kind": "commit", "commit": .map(commit)]))
    }

    /// Updates and account events as Jetstream sends them: an edited post
    /// moves to the community its new text names, and a takedown of its
    /// author removes it.
    @Test func updatesAndAccountEventsFromJetstream() async throws {
        let f = try FeedGenFixture()
        defer { f.remove() }
        let other = "00c0ffee"
        let base: Int64 = 1_790_000_000_000_000
        let now = Date()
        let reader = JetstreamMessageReader(filter: f.generator.filter, maxEventBytes: 4096)
        func ingest(_ messages: [(time: Int64, json: String)]) async throws {
            var events: [IngestEvent] = []
            for message in messages {
                let outcome = message.json.utf8CString.withUnsafeBytes { reader.read(UnsafeRawBufferPointer(rebasing: $0.dropLast())) }
                guard case .parsed(let event?, cursor: message.time) = outcome else {
                    Issue.record("not parsed: \(outcome) for \(message.json)")
                    continue
                }
                events.append(event)
            }
            try await f.ingest(events)
        }
        try await ingest([
            Self.commit(owner, base + 1, "net.atrarium.community.config", "self", "create", record: Records.config(id: id)),
            Self.commit(owner, base + 2, "net.atrarium.community.config", "other", "create", record: Records.config(id: other)),
            Self.commit(alice, base + 3, "net.atrarium.community.membership", "m1", "create", record: Records.membership(Records.configURI(owner))),
            Self.commit(
                alice, base + 4, "net.atrarium.community.membership", "m2", "create", record: Records.membership(Records.configURI(owner, "other"))),
            Self.commit(alice, base + 5, "app.bsky.feed.post", "p1", "create", record: Records.post("first #atrarium_\(id)", at: now)),
        ])
        let post = "at://\(alice)/app.bsky.feed.post/p1"
        #expect(try await f.feedURIs(id, owner: owner) == [post])
        #expect(try await f.feedURIs(other, owner: owner).isEmpty)

        // The edit names the other community only.
        try await ingest([
            Self.commit(alice, base + 6, "app.bsky.feed.post", "p1", "update", record: Records.post("moved #atrarium_\(other)", at: now))
        ])
        #expect(try await f.feedURIs(id, owner: owner).isEmpty)
        #expect(try await f.feedURIs(other, owner: owner) == [post])

        // The author is taken down.
        let takedown = ATProtoJSON.encodeString([
            "did": .string(alice), "time_us": .int(base + 7), "kind": "account",
            "account": ["active": false, "did": .string(alice), "seq": 99, "status": "takendown", "time": "2026-11-23T10:00:00.000Z"],
        ])
        try await ingest([(base + 7, takedown)])
        #expect(try await f.feedURIs(other, owner: owner).isEmpty)
    }

    /// `compress=true`: the client asks for zstd frames, reads them with
    /// Jetstream's dictionary, and refuses broken ones (not zstd, past the
    /// size limit, another dictionary's) into the dead-letter table.
    @Test func compressedMessagesFromJetstream() async throws {
        let base: Int64 = 1_790_000_000_000_000
        let now = Date()
        let community = Records.configURI(owner)
        let compressor = ZstdCompressor(dictionary: JetstreamZstd.dictionary)
        var otherBytes = JetstreamZstd.dictionary.bytes
        otherBytes[4] ^= 0x01
        let other = ZstdCompressor(dictionary: try ZstdDictionary(otherBytes))
        let p1 = Self.commit(alice, base + 3, "app.bsky.feed.post", "p1", "create", record: Records.post("one #atrarium_\(id)", at: now.addingTimeInterval(-2)))
        let messages: [(time: Int64, json: String)] = [
            Self.commit(owner, base + 1, "net.atrarium.community.config", "self", "create", record: Records.config(id: id)),
            Self.commit(alice, base + 2, "net.atrarium.community.membership", "m1", "create", record: Records.membership(community)),
            p1, (base + 4, ""), (base + 5, ""), (base + 6, ""),
            Self.commit(alice, base + 7, "app.bsky.feed.post", "p2", "create", record: Records.post("two #atrarium_\(id)", at: now.addingTimeInterval(-1))),
        ]
        let large = Self.commit(alice, base + 5, "app.bsky.feed.post", "big", "create", record: Records.post("#atrarium_\(id) " + String(repeating: "y", count: 8000), at: now))
        let server = FakeJetstream(
            messages: messages, cutAfter: messages.count, compressor: compressor,
            raw: [
                3: Array("{\"not\": \"zstd\"}".utf8),
                4: compressor.compress(Array(large.json.utf8)),
                5: other.compress(Array(p1.json.utf8)),
            ])
        let port = try await server.start()
        var config = Self.config(jetstreamPort: port)
        config.jetstreamCompression = true
        let f = try FeedGenFixture(config: config)
        defer { f.remove() }
        let running = Task { await f.generator.run(jetstreamBackoff: .milliseconds(50)) }

        let expected = ["at://\(alice)/app.bsky.feed.post/p2", "at://\(alice)/app.bsky.feed.post/p1"]
        #expect(try await f.awaitFeed(id, owner: owner, expected) == expected)
        var errors: [String] = []
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            errors = try await f.generator.queue.deadLetterErrors()
            if errors.count >= 3 { break }
            try await Task.sleep(for: .milliseconds(25))
        }
        running.cancel()
        await running.value
        await server.stop()

        #expect(server.queries.first?.contains("compress=true") == true)
        #expect(errors.count == 3, "\(errors)")
        #expect(errors.contains { $0.contains("not a valid zstd message") }, "\(errors)")
        #expect(errors.contains { $0.contains("decompresses past the limit of 4096 bytes") }, "\(errors)")
        #expect(errors.contains { $0.contains("compressed with dictionary \(other.dictionary.id)") }, "\(errors)")
    }

    @Test func replaysWithMalformedMessagesDisconnectsAndDuplicates() async throws {
        let base: Int64 = 1_790_000_000_000_000
        let now = Date()
        let community = Records.configURI(owner)
        func post(_ text: String, _ seconds: Double) -> DataValue { Records.post(text, at: now.addingTimeInterval(seconds)) }
        let oversized = post("#atrarium_\(id) " + String(repeating: "x", count: 5000), -9)
        var messages: [(time: Int64, json: String)] = [
            Self.commit(owner, base + 1, "net.atrarium.community.config", "self", "create", record: Records.config(id: id)),
            Self.commit(alice, base + 2, "net.atrarium.community.membership", "m1", "create", record: Records.membership(community)),
            Self.commit(alice, base + 3, "app.bsky.feed.post", "p1", "create", record: post("one #atrarium_\(id)", -8)),
            Self.commit(bob, base + 4, "app.bsky.feed.post", "x1", "create", record: post("unrelated chatter", -7)),
            (base + 5, "{\"did\": \"did:plc:alice0000000000000000000\", \"time_us\": 12, \"kind\": \"commit\", \"commit\": {\"operation\": \"create\", \"collection\": \"net.atrarium.community.membership\", \"rkey\": \"m2\""),
            (base + 6, "{\"kind\":\"commit\",\"time_us\":\(base + 6),\"did\":\"not a did\",\"commit\":{\"operation\":\"create\",\"collection\":\"app.bsky.feed.post\",\"rkey\":\"z\",\"record\":{\"text\":\"#atrarium_\(id)\"}}}"),
            Self.commit(alice, base + 7, "app.bsky.feed.post", "p2", "create", record: oversized),
            Self.commit(alice, base + 8, "app.bsky.feed.post", "p3", "create", record: post("bad tag #atrarium_0BADC0DE", -6)),
            Self.commit(alice, base + 9, "app.bsky.feed.post", "p4", "create", record: post("two #atr_\(id)", -5)),
            Self.commit(bob, base + 10, "app.bsky.feed.post", "x2", "create", record: post("bob is no member #atrarium_\(id)", -4)),
        ]
        // The connection drops here; what follows comes after the reconnect.
        let cut = messages.count
        messages += [
            Self.commit(alice, base + 11, "app.bsky.feed.post", "p5", "create", record: post("three #atrarium_\(id)", -3)),
            Self.commit(alice, base + 12, "app.bsky.feed.post", "p1", "delete"),
            (base + 13, ATProtoJSON.encodeString(["did": .string(owner), "time_us": .int(base + 13), "kind": "identity", "identity": ["did": .string(owner), "handle": "owner.test"]])),
            Self.commit(alice, base + 14, "app.bsky.feed.post", "p6", "create", record: post("four #atrarium_\(id)", -2)),
        ]
        let server = FakeJetstream(messages: messages, cutAfter: cut)
        let port = try await server.start()
        let config = Self.config(jetstreamPort: port)
        let f = try FeedGenFixture(config: config)
        defer { f.remove() }
        let running = Task { await f.generator.run(jetstreamBackoff: .milliseconds(50)) }

        let uri = { (rkey: String) in "at://\(alice)/app.bsky.feed.post/\(rkey)" }
        let expected = [uri("p6"), uri("p5"), uri("p4")]
        #expect(try await f.awaitFeed(id, owner: owner, expected) == expected)
        // Let the cursor be saved, then stop.
        try await Task.sleep(for: .milliseconds(1200))
        running.cancel()
        await running.value
        await server.stop()

        let queries = server.queries
        #expect(queries.count >= 2)
        #expect(queries.first?.contains("wantedCollections=app.bsky.feed.post") == true && queries.first?.contains("wantedCollections=net.atrarium.*") == true)
        #expect(queries.first?.contains("cursor") == false)
        // The reconnect resumed from a saved cursor within what the first connection delivered.
        let resumed = queries.dropFirst().first.flatMap { $0.split(separator: "&").first { $0.hasPrefix("cursor=") } }.flatMap { Int64($0.dropFirst(7)) }
        #expect(resumed != nil && resumed! >= base + 1 && resumed! <= base + Int64(cut))
        let saved = try await f.generator.queue.cursor(source: JetstreamClient.sourceName(config.jetstreamURLs[0]))
        #expect(saved == base + 14)
        let errors = try await f.generator.queue.deadLetterErrors()
        #expect(errors.count == 3, "\(errors)")
        #expect(errors.contains { $0.contains("not JSON") } && errors.contains { $0.contains("did") } && errors.contains { $0.contains("exceeds the limit") })
    }
}
