import Foundation
import HummingbirdWSClient
import JetstreamCompression
import Logging
import Synchronization

/// Reads one Jetstream endpoint (`wss://…/subscribe`) into the ingest
/// buffer: asks for `app.bsky.feed.post` and `net.atrarium.*`, resumes
/// from the saved cursor (unix microseconds) rewound a few seconds (the
/// queue's processing is idempotent, so replayed events do no harm), and
/// reconnects with a backoff that doubles up to a minute. Malformed and
/// oversized messages are refused into the dead-letter table. With a
/// decompressor, messages are asked for zstd-compressed (`compress=true`,
/// Jetstream's dictionary; about half the bytes on the wire).
public struct JetstreamClient: Sendable {
    let endpoint: String
    let reader: JetstreamMessageReader
    let buffer: IngestBuffer
    let queue: IngestQueue
    let rewind: Int64
    let decompressor: ZstdDecompressor?
    let initialBackoff: Duration
    let logger: Logger

    /// The queue source name of an endpoint (its cursor is saved under it).
    public static func sourceName(_ endpoint: String) -> String { "jetstream:" + endpoint }

    public init(
        endpoint: String, reader: JetstreamMessageReader, buffer: IngestBuffer, queue: IngestQueue, rewindSeconds: Int,
        decompressor: ZstdDecompressor? = nil, initialBackoff: Duration = .seconds(1), logger: Logger
    ) {
        self.endpoint = endpoint
        self.reader = reader
        self.buffer = buffer
        self.queue = queue
        self.rewind = Int64(rewindSeconds) * 1_000_000
        self.decompressor = decompressor
        self.initialBackoff = initialBackoff
        self.logger = logger
    }

    var source: String { Self.sourceName(endpoint) }

    /// The URL to connect to for a saved cursor.
    func url(cursor: Int64?) -> String {
        var url = endpoint + (endpoint.contains("?") ? "&" : "?")
        url += "wantedCollections=app.bsky.feed.post&wantedCollections=net.atrarium.*"
        if decompressor != nil { url += "&compress=true" }
        if let cursor { url += "&cursor=\(max(0, cursor - rewind))" }
        return url
    }

    /// Connects, reads, and reconnects until cancelled.
    public func run() async {
        var backoff = initialBackoff
        while !Task.isCancelled {
            let received = MessageCounter()
            do {
                let cursor = try await queue.cursor(source: source)
                let target = url(cursor: cursor)
                logger.info("feedgen: connecting to Jetstream", metadata: ["url": .string(target)])
                try await WebSocketClient.connect(url: target, configuration: .init(maxFrameSize: 1 << 22), logger: logger) {
                    inbound, _, _ in
                    var ingest = JetstreamIngest(
                        reader: reader, buffer: buffer, queue: queue, source: source, decompressor: decompressor, logger: logger)
                    for try await message in inbound.messages(maxSize: 1 << 22) {
                        received.increment()
                        switch message {
                        case .text(let text): await ingest.handle(text)
                        case .binary(let bytes): await ingest.handle(Array(bytes.readableBytesView))
                        }
                    }
                    await ingest.finish()
                }
                logger.info("feedgen: Jetstream connection closed", metadata: ["url": .string(endpoint), "messages": "\(received.count)"])
            } catch {
                if Task.isCancelled { break }
                logger.warning("feedgen: Jetstream connection failed", metadata: ["url": .string(endpoint), "error": "\(error)"])
            }
            await buffer.drain()
            if received.count > 0 { backoff = initialBackoff }
            try? await Task.sleep(for: backoff)
            backoff = min(backoff * 2, .seconds(60))
        }
    }
}

/// Counts the messages of one connection.
final class MessageCounter: Sendable {
    private let value = Atomic<Int>(0)
    func increment() { value.add(1, ordering: .relaxed) }
    var count: Int { value.load(ordering: .relaxed) }
}
