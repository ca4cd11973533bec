import ATProto
import FeedGen
import Foundation
import GRDB
import Testing

@Suite("Filter, hashtags and the durable queue")
struct FilterAndQueueTests {
    let owner = "did:plc:owner000000000000000000"
    let id = "5eed5eed"

    @Test func exactHashtagMatch() {
        #expect(CommunityHashtag.ids(inText: "hi #atrarium_1a2b3c4d and #atr_deadbeef.") == ["1a2b3c4d", "deadbeef"])
        #expect(CommunityHashtag.ids(inText: "#atrarium_1a2b3c4d #atr_1a2b3c4d") == ["1a2b3c4d"])
        for text in ["#atrarium_1A2B3C4D", "#atrarium_1a2b3c4", "#atrarium_1a2b3c4dx", "x#atrarium_1a2b3c4d", "atrarium_1a2b3c4d", "#atrarium_1a2b3c4g", "#atr_1a2b"] {
            #expect(CommunityHashtag.ids(inText: text).isEmpty, "\(text)")
        }
        let post: DataValue = [
            "text": "no hashtag in the text",
            "facets": [["features": [["$type": "app.bsky.richtext.facet#tag", "tag": "atrarium_00000001"],
                                     ["$type": "app.bsky.richtext.facet#link", "uri": "https://x/#atrarium_00000009"]]]],
            "tags": ["atr_00000002", "atrarium_nothex00"],
        ]
        #expect(CommunityHashtag.communityIDs(inPost: post) == ["00000001", "00000002"])
    }

    @Test func cheapFilterOnRawBytes() {
        func check(_ s: String) -> (Bool, Bool) {
            var s = s
            return s.withUTF8 { let r = CandidateFilter.mayMatter(UnsafeRawBufferPointer($0)); return (r.candidate, r.mentionsAtrarium) }
        }
        #expect(check(#"{"commit":{"record":{"text":"hello #atrarium_12345678"}}}"#) == (true, true))
        #expect(check(#"{"commit":{"collection":"net.atrarium.community.config"}}"#) == (true, true))
        #expect(check(#"{"commit":{"record":{"tags":["atr_12345678"]}}}"#) == (true, true))
        #expect(check(#"{"commit":{"operation":"create","record":{"text":"just a post"}}}"#) == (false, false))
        #expect(check(#"{"commit":{"operation":"delete"}}"#) == (true, false))
        #expect(check(#"{"kind":"account"}"#) == (true, false))
        // A delete passes to the account check only when the account is known.
        let filter = CandidateFilter()
        let delete = IngestEvent.record(try! RecordChange(did: owner, collection: "app.bsky.feed.post", rkey: "a", operation: .delete, cid: nil, record: nil))
        #expect(!filter.admits(delete, mentionsAtrarium: false))
        filter.remember([try! DID(owner)])
        #expect(filter.admits(delete, mentionsAtrarium: false))
    }

    @Test func malformedJetstreamMessagesAreNamed() {
        let cases: [(String, String)] = [
            ("{", "not JSON"),
            ("[1,2]", "not a JSON object"),
            (#"{"did":"did:plc:a","kind":"commit"}"#, "time_us"),
            (#"{"did":"nope","time_us":1,"kind":"commit"}"#, "did"),
            (#"{"did":"did:plc:a","time_us":1,"kind":"commit","commit":{"operation":"explode","collection":"a.b.c","rkey":"x"}}"#, "operation"),
            (#"{"did":"did:plc:a","time_us":1,"kind":"commit","commit":{"operation":"create","collection":"a.b.c","rkey":"x","cid":"bad","record":{}}}"#, "cid"),
            (#"{"did":"did:plc:a","time_us":1,"kind":"surprise"}"#, "kind"),
            (#"{"did":"did:plc:a","time_us":1.5,"kind":"commit"}"#, "JSON"),
        ]
        for (json, words) in cases {
            do {
                _ = try JetstreamEvent(json: Array(json.utf8))
                Issue.record("accepted \(json)")
            } catch {
                #expect(error.message.contains(words), "\(json): \(error.message)")
            }
        }
    }

    @Test func aRestartMidBatchNeitherLosesNorDoubles() async throws {
        let f = try FeedGenFixture()
        let t = Date().addingTimeInterval(-100)
        var events: [IngestEvent] = [try Records.create(owner, "net.atrarium.community.config", "self", Records.config(id: id))]
        for n in 0..<40 {
            events.append(try Records.create(owner, "app.bsky.feed.post", "p\(n)", Records.post("#atrarium_\(id) \(n)", at: t.addingTimeInterval(Double(n)))))
        }
        events.append(try Records.delete(owner, "app.bsky.feed.post", "p3"))
        try await f.generator.queue.enqueue(events, source: "local", cursor: 41)
        // "Crash": half the events were applied, but the batch was never settled.
        for event in events.prefix(25) { try await f.generator.indexer.apply(event) }
        // Garbage in the queue goes to the dead letters, not into the index.
        try await f.generator.pool.write { db in
            try db.execute(sql: "INSERT INTO ingest_queue (source, event, enqueued_at) VALUES ('local', X'7b7b7b', 0)")
        }

        let reopened = try FeedGenFixture(directory: f.directory)
        defer { reopened.remove() }
        #expect(try await reopened.generator.queue.cursor(source: "local") == 41)
        while try await reopened.generator.processor.processBatch() > 0 {}
        let feed = try await reopened.feedURIs(id, owner: owner, limit: 9)
        let expected = (0..<40).reversed().filter { $0 != 3 }.map { "at://\(owner)/app.bsky.feed.post/p\($0)" }
        #expect(feed == expected)
        let (queued, dead) = try await reopened.generator.queue.counts()
        #expect(queued == 0 && dead == 1)
        // Processing everything once more changes nothing.
        try await reopened.ingest(events)
        #expect(try await reopened.feedURIs(id, owner: owner) == expected)
        let rows = try await reopened.generator.pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM community_post") }
        #expect(rows == 39)
    }

    @Test func accountsInTheIndexPassTheFilterAfterARestart() async throws {
        let f = try FeedGenFixture()
        try await f.ingest([
            try Records.create(owner, "net.atrarium.community.config", "self", Records.config(id: id)),
            try Records.create(owner, "app.bsky.feed.post", "p1", Records.post("#atrarium_\(id)", at: Date())),
        ])
        let reopened = try FeedGenFixture(directory: f.directory)
        defer { reopened.remove() }
        let delete = IngestEvent.record(try RecordChange(did: owner, collection: "app.bsky.feed.post", rkey: "p1", operation: .delete, cid: nil, record: nil))
        #expect(!reopened.generator.filter.admits(delete, mentionsAtrarium: false))
        try await reopened.generator.loadKnownAccounts()
        #expect(reopened.generator.filter.admits(delete, mentionsAtrarium: false))
        #expect(!reopened.generator.filter.admits(.account(did: try DID("did:plc:stranger0000000000000000"), active: false, status: "deleted"), mentionsAtrarium: false))
    }

    @Test func failuresAreRetriedWithBackoffThenDeadLettered() async throws {
        let f = try FeedGenFixture()
        defer { f.remove() }
        let queue = f.generator.queue
        let event = try Records.create(owner, "app.bsky.feed.post", "p1", Records.post("#atrarium_\(id)", at: Date()))
        try await queue.enqueue([event], source: "test", cursor: 7)
        let t0 = Date()
        var item = try #require(try await queue.ready(limit: 10, now: t0).first)
        // A transient failure: back in the queue, not ready until its backoff passes.
        try await queue.settle(done: [], failed: [(item, "database is busy")], maxAttempts: 3, now: t0)
        #expect(try await queue.ready(limit: 10, now: t0).isEmpty)
        item = try #require(try await queue.ready(limit: 10, now: t0.addingTimeInterval(1)).first)
        #expect(item.attempts == 1)
        try await queue.settle(done: [], failed: [(item, "database is busy")], maxAttempts: 3, now: t0.addingTimeInterval(1))
        item = try #require(try await queue.ready(limit: 10, now: t0.addingTimeInterval(2)).first)
        #expect(item.attempts == 2)
        // The last allowed attempt fails: to the dead letters, with its error.
        try await queue.settle(done: [], failed: [(item, "database is busy")], maxAttempts: 3, now: t0.addingTimeInterval(2))
        let (queued, dead) = try await queue.counts()
        #expect(queued == 0 && dead == 1)
        #expect(try await queue.deadLetterErrors() == ["database is busy"])
        // The cursor saved with the events is untouched by all this.
        #expect(try await queue.cursor(source: "test") == 7)
    }
}
