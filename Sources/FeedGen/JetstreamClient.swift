import Foundation
import HummingbirdWSClient
import Logging
import Synchronization

/// Reads one Jetstream endpoint (`wss://…/subscribe`) into the ingest
/// buffer: asks for `app.bsky.feed.post` and `net.atrarium.*`, resumes
/// from the saved cursor (unix microseconds) rewound a few seconds (the
/// queue's processing is idempotent, so replayed events do no harm), and
/// reconnects with a backoff that doubles up to a minute. Malformed and
/// oversized messages are refused into the dead-letter table. Messages
/// are asked for uncompressed (no zstd).
public struct JetstreamClient: Sendable {
    let endpoint: String
    let reader: JetstreamMessageReader
    let buffer: IngestBuffer
    let queue: IngestQueue
    let rewind: Int64
    let initialBackoff: Duration
    let logger: Logger

    /// The queue source name of an endpoint (its cursor is saved under it).
    public static func sourceName(_ endpoint: String) -> String { "jetstream:" + endpoint }

    public init(
        endpoint: String, reader: JetstreamMessageReader, buffer: IngestBuffer, queue: IngestQueue, rewindSeconds: Int,
        initialBackoff: Duration = .seconds(1), logger: Logger
    ) {
        self.endpoint = endpoint
        self.reader = reader
        self.buffer = buffer
        self.queue = queue
        self.rewind = Int64(rewindSeconds) * 1_000_000
        self.initialBackoff = initialBackoff
        self.logger = logger
    }

    var source: String { Self.sourceName(endpoint) }

    /// The URL to connect to for a saved cursor.
    func url(cursor: Int64?) -> String {
        var url = endpoint + (endpoint.contains("?") ? "&" : "?")
        url += "wantedCollections=app.bsky.feed.post&wantedCollections=net.atrarium.*"
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
                    var sinceCursorSave = 0
                    var lastCursor: Int64?
                    for try await message in inbound.messages(maxSize: 1 << 22) {
                        received.increment()
                        let outcome: JetstreamMessageReader.Outcome
                        let skippedCursor: Int64?
                        switch message {
                        case .text(let text):
                            var text = text
                            (outcome, skippedCursor) = text.withUTF8 { utf8 in
                                let raw = UnsafeRawBufferPointer(utf8)
                                let outcome = reader.read(raw)
                                return (outcome, outcome == .skipped ? JetstreamMessageReader.timeMicroseconds(raw) : nil)
                            }
                        case .binary(let buffer):
                            (outcome, skippedCursor) = buffer.readableBytesView.withUnsafeBytes { raw in
                                let outcome = reader.read(raw)
                                return (outcome, outcome == .skipped ? JetstreamMessageReader.timeMicroseconds(raw) : nil)
                            }
                        }
                        switch outcome {
                        case .skipped:
                            if let skippedCursor { lastCursor = skippedCursor }
                            sinceCursorSave += 1
                            if sinceCursorSave >= 1000 {
                                await buffer.add([], source: source, cursor: lastCursor)
                                sinceCursorSave = 0
                            }
                        case .parsed(let event, let cursor):
                            lastCursor = cursor
                            await buffer.add(event.map { [$0] } ?? [], source: source, cursor: cursor)
                            sinceCursorSave = 0
                        case .refused(let reason):
                            logger.warning("feedgen: Jetstream message refused", metadata: ["reason": .string(reason)])
                            let bytes: [UInt8] = switch message {
                            case .text(let text): Array(text.utf8.prefix(8192))
                            case .binary(let buffer): Array(buffer.readableBytesView.prefix(8192))
                            }
                            try? await queue.deadLetter(source: source, payload: bytes, error: reason)
                        }
                    }
                    if let lastCursor { await buffer.add([], source: source, cursor: lastCursor) }
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
