import ATProto
import ArgumentParser
import FeedGen
import Foundation
import JetstreamCompression
import Logging
import Repo

/// `pds bench feedgen`: the feed generator's ingest throughput, its
/// event-to-queryable latency, and the feed skeleton query at scale.
struct FeedGenBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "feedgen",
        abstract: "Jetstream-format ingest through filter, queue and index; indexing latency; getFeedSkeleton at 1M posts.")

    @Option(help: "Synthetic Jetstream events to ingest (1% match a community).") var events: Int = 200_000
    @Option(help: "Communities for the skeleton query.") var communities: Int = 1_000
    @Option(help: "Indexed posts for the skeleton query.") var posts: Int = 1_000_000
    @Option(help: "Skeleton queries to time.") var queries: Int = 2_000

    func run() async throws {
        Bench.header("feedgen")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pds-bench-feedgen-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var logger = Logger(label: "bench")
        logger.logLevel = .error
        let generator = try FeedGenerator(
            config: FeedGenConfig(), dataDirectory: directory, did: try DID("did:web:bench.example"), serviceEndpoint: "https://bench.example",
            keyResolver: nil, logger: logger)
        let processing = Task { await generator.processor.run() }
        defer { processing.cancel() }

        // Setup (not timed): 100 communities with 10 members each.
        let owner = "did:plc:benchowner00000000000000"
        let ids = (0..<100).map { String(format: "%08x", 0xbe00_0000 + $0) }
        var setup: [IngestEvent] = []
        for id in ids {
            let config: DataValue = [
                "$type": "net.atrarium.community.config", "name": "Bench", "hashtag": .string("#atrarium_" + id), "stage": "theme",
                "accessType": "open", "createdAt": "2026-11-23T10:00:00.000Z",
            ]
            setup.append(.record(try RecordChange(did: owner, collection: "net.atrarium.community.config", rkey: "c" + id, operation: .create, cid: Self.cid(id), record: config)))
            for m in 0..<10 {
                let membership: DataValue = [
                    "$type": "net.atrarium.community.membership", "community": .string(Self.uri(owner, "net.atrarium.community.config", "c\(id)")),
                    "role": "member", "status": "active", "joinedAt": "2026-11-23T10:00:00.000Z", "active": true,
                ]
                setup.append(.record(try RecordChange(did: Self.member(m), collection: "net.atrarium.community.membership", rkey: "m" + id, operation: .create, cid: Self.cid("m\(m)\(id)"), record: membership)))
            }
        }
        await generator.buffer.add(setup, source: "bench-setup", cursor: nil)
        try await generator.processQueued()

        // 1. Throughput: synthetic Jetstream messages, 1% with a community hashtag.
        let start = Int64(Date().timeIntervalSince1970 * 1_000_000)
        let nowText = ATDatetime.format(Date())
        var messages: [String] = []
        messages.reserveCapacity(events)
        var matching = 0
        for n in 0..<events {
            let isMatch = n % 100 == 0
            let did = isMatch ? Self.member(n % 10) : String(format: "did:plc:user%020d", n % 50_000)
            let text = isMatch ? "Bench post \(n) #atrarium_\(ids[(n / 100) % ids.count])" : "Just an ordinary post number \(n) about the weather and birds"
            if isMatch { matching += 1 }
            messages.append(
                #"{"did":"\#(did)","time_us":\#(start + Int64(n)),"kind":"commit","commit":{"rev":"3l3qo2vutsw2b","operation":"create","collection":"app.bsky.feed.post","rkey":"b\#(n)","record":{"$type":"app.bsky.feed.post","createdAt":"\#(nowText)","langs":["en"],"text":"\#(text)"},"cid":"\#(Self.cid("post\(n)"))"}}"#)
        }
        let before = generator.processor.processed
        let reader = JetstreamMessageReader(filter: generator.filter, maxEventBytes: 256 * 1024)
        var ingest = JetstreamIngest(reader: reader, buffer: generator.buffer, queue: generator.queue, source: "bench", logger: logger)
        let clock = ContinuousClock()
        let t0 = clock.now
        for message in messages { await ingest.handle(message) }
        await ingest.finish()
        await generator.buffer.drain()
        let filtered = clock.now - t0
        while generator.processor.processed - before < matching { try await Task.sleep(for: .milliseconds(1)) }
        let total = clock.now - t0
        Bench.say("ingest: \(events) Jetstream events, \(matching) matching (1%), 100 communities")
        Bench.report("  filter + queue (reading all events)", Double(events) / Bench.seconds(filtered), unit: "events/s")
        Bench.report("  filter + queue + index (until indexed)", Double(events) / Bench.seconds(total), unit: "events/s", target: 50_000)

        // 1b. The same events as zstd frames (`jetstreamCompression`): decompression added.
        let compressor = ZstdCompressor(dictionary: JetstreamZstd.dictionary)
        let frames = messages.map { compressor.compress(Array($0.utf8)) }
        let plainBytes = messages.reduce(0) { $0 + $1.utf8.count }
        let frameBytes = frames.reduce(0) { $0 + $1.count }
        var compressedIngest = JetstreamIngest(
            reader: reader, buffer: generator.buffer, queue: generator.queue, source: "bench-zstd",
            decompressor: ZstdDecompressor(dictionary: JetstreamZstd.dictionary), logger: logger)
        let t1 = clock.now
        for frame in frames { await compressedIngest.handle(frame) }
        await compressedIngest.finish()
        await generator.buffer.drain()
        let compressedFiltered = clock.now - t1
        Bench.say("  zstd with Jetstream's dictionary: \(frameBytes) bytes for \(plainBytes) (\(String(format: "%.0f", 100 * Double(frameBytes) / Double(plainBytes)))%)")
        Bench.report("  decompress + filter + queue", Double(events) / Bench.seconds(compressedFiltered), unit: "events/s", target: 50_000)

        // 2. Latency: one matching event at a time, until its post is queryable.
        var latencies: [Double] = []
        for n in 0..<300 {
            let rkey = "lat\(n)"
            let message = #"{"did":"\#(Self.member(n % 10))","time_us":\#(start + Int64(events + n)),"kind":"commit","commit":{"rev":"3l3qo2vutsw2b","operation":"create","collection":"app.bsky.feed.post","rkey":"\#(rkey)","record":{"$type":"app.bsky.feed.post","createdAt":"\#(nowText)","text":"latency #atrarium_\#(ids[0])"},"cid":"\#(Self.cid("lat\(n)"))"}}"#
            let uri = Self.uri(Self.member(n % 10), "app.bsky.feed.post", rkey)
            let sent = clock.now
            await ingest.handle(message)
            while try await !generator.index.isPostIndexed(uri) {
                try await Task.sleep(for: .microseconds(200))
            }
            latencies.append(Bench.seconds(clock.now - sent) * 1000)
            try await Task.sleep(for: .milliseconds(2))
        }
        latencies.sort()
        Bench.say("latency: event handed to the ingest path → post queryable (300 events, one at a time)")
        Bench.report("  p50", Self.percentile(latencies, 0.5), unit: "ms")
        Bench.report("  p99", Self.percentile(latencies, 0.99), unit: "ms", target: 100, lowerIsBetter: true)

        // 3. The skeleton query with `communities` communities and `posts` posts.
        Bench.say("skeleton: loading \(communities) communities and \(posts) posts (not timed)...")
        let loadStart = clock.now
        try await Self.load(generator: generator, owner: owner, communities: communities, posts: posts)
        Bench.say("  loaded in \(String(format: "%.1f", Bench.seconds(clock.now - loadStart))) s")
        let feedIDs = (0..<communities).map { String(format: "%08x", 0xfe00_0000 + $0) }
        var firstPages: [Double] = []
        var nextPages: [Double] = []
        var served = 0
        for q in 0..<queries {
            let id = feedIDs[(q * 7919) % feedIDs.count]
            let feed = FeedGenerator.feedURI(communityID: id, owner: try DID(owner))
            let t = clock.now
            let page = try await generator.getFeedSkeleton(feed: feed, limit: "50", cursor: nil, authorization: nil)
            firstPages.append(Bench.seconds(clock.now - t) * 1000)
            let cursor = page["cursor"]?.stringValue
            let t2 = clock.now
            let next = try await generator.getFeedSkeleton(feed: feed, limit: "50", cursor: cursor, authorization: nil)
            nextPages.append(Bench.seconds(clock.now - t2) * 1000)
            served += (page["feed"]?.arrayValue?.count ?? 0) + (next["feed"]?.arrayValue?.count ?? 0)
        }
        firstPages.sort()
        nextPages.sort()
        Bench.say("getFeedSkeleton in process (feed URI lookup + index query, no HTTP), limit 50, \(queries) feeds, \(served) items served")
        Bench.report("  first page p50", Self.percentile(firstPages, 0.5), unit: "ms")
        Bench.report("  first page p99", Self.percentile(firstPages, 0.99), unit: "ms", target: 5, lowerIsBetter: true)
        Bench.report("  with cursor p50", Self.percentile(nextPages, 0.5), unit: "ms")
        Bench.report("  with cursor p99", Self.percentile(nextPages, 0.99), unit: "ms", target: 5, lowerIsBetter: true)
    }

    /// Writes communities and posts straight into the index tables.
    static func load(generator: FeedGenerator, owner: String, communities: Int, posts: Int) async throws {
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let seeds = (0..<communities).map { c in
            let id = String(format: "%08x", 0xfe00_0000 + c)
            return CommunitySeed(
                id: id, configURI: uri(owner, "net.atrarium.community.config", "f\(id)"), configCID: cid("f\(id)"), owner: owner, name: "Bench",
                stage: "theme", accessType: "open", createdAt: "2026-11-23T10:00:00.000Z")
        }
        try await generator.index.bulkInsert(communities: seeds, indexedAt: now, postCount: posts) { p in
            let author = member(p % 10)
            return PostSeed(
                community: String(format: "%08x", 0xfe00_0000 + p % communities), uri: uri(author, "app.bsky.feed.post", "s\(p)"),
                cid: cid("s\(p)"), author: author, createdAt: now - Int64(posts - p) * 500)
        }
    }

    /// The AT URI of a record of the benchmark's accounts (their DIDs and
    /// record keys are made valid above).
    static func uri(_ did: String, _ collection: String, _ rkey: String) -> String {
        ATURI.record(DID(unchecked: did), collection: collection, rkey: rkey).string
    }
    static func member(_ n: Int) -> String { String(format: "did:plc:benchmember%014d", n) }
    static func cid(_ seed: String) -> String { CID.compute(Array(seed.utf8)).string }
    static func percentile(_ sorted: [Double], _ p: Double) -> Double {
        guard !sorted.isEmpty else { return 0 }
        return sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]
    }
}
