import Logging
import Testing

@testable import FeedGen

/// Where a Jetstream connection resumes: from the saved cursor (unix
/// microseconds) rewound by `jetstreamRewindSeconds`, never below zero;
/// without a saved cursor, from the live tail.
@Suite("Jetstream resume cursor")
struct JetstreamResumeTests {
    @Test func theSavedCursorIsRewound() throws {
        let f = try FeedGenFixture()
        defer { f.remove() }
        let client = JetstreamClient(
            endpoint: "wss://jetstream.example.com/subscribe", reader: JetstreamMessageReader(filter: f.generator.filter, maxEventBytes: 1024),
            buffer: f.generator.buffer, queue: f.generator.queue, rewindSeconds: 5, logger: Logger(label: "test"))
        let saved: Int64 = 1_763_900_000_000_000
        #expect(client.url(cursor: saved).hasSuffix("&cursor=\(saved - 5_000_000)"))
        #expect(client.url(cursor: 2_000_000).hasSuffix("&cursor=0"))
        #expect(!client.url(cursor: nil).contains("cursor="))
        #expect(client.url(cursor: nil).hasPrefix("wss://jetstream.example.com/subscribe?wantedCollections=app.bsky.feed.post"))
    }
}
