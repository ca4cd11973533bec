import Foundation
import JetstreamCompression
import Logging

/// What one Jetstream connection does with each message: the message
/// reader's verdict, then admitted events (with their cursor) into the
/// buffer at once, the cursor of dropped messages every 1,000 messages,
/// and refused messages into the dead-letter table. With a decompressor
/// (the connection asked for zstd), binary messages are zstd frames of the
/// JSON event; text messages are read as they are.
public struct JetstreamIngest: Sendable {
    let reader: JetstreamMessageReader
    let buffer: IngestBuffer
    let queue: IngestQueue
    let source: String
    let decompressor: ZstdDecompressor?
    let logger: Logger
    private var sinceCursorSave = 0
    private var lastCursor: Int64?

    public init(
        reader: JetstreamMessageReader, buffer: IngestBuffer, queue: IngestQueue, source: String,
        decompressor: ZstdDecompressor? = nil, logger: Logger
    ) {
        self.reader = reader
        self.buffer = buffer
        self.queue = queue
        self.source = source
        self.decompressor = decompressor
        self.logger = logger
    }

    /// Handles a text message.
    public mutating func handle(_ text: String) async {
        var text = text
        let (outcome, skippedCursor) = text.withUTF8 { utf8 in Self.read(reader, UnsafeRawBufferPointer(utf8)) }
        await settle(outcome, skippedCursor: skippedCursor) { Array(text.utf8.prefix(8192)) }
    }

    /// Handles a binary message: a zstd frame when the connection asked
    /// for compression, else the JSON itself.
    public mutating func handle(_ bytes: [UInt8]) async {
        var json = bytes
        if let decompressor {
            do {
                json = try decompressor.decompress(bytes, limit: reader.maxEventBytes)
            } catch .tooLarge {
                await settle(.refused("compressed event decompresses past the limit of \(reader.maxEventBytes) bytes"), skippedCursor: nil) {
                    Array(bytes.prefix(8192))
                }
                return
            } catch {
                await settle(.refused("\(error)"), skippedCursor: nil) { Array(bytes.prefix(8192)) }
                return
            }
        }
        let (outcome, skippedCursor) = json.withUnsafeBytes { Self.read(reader, $0) }
        await settle(outcome, skippedCursor: skippedCursor) { Array(json.prefix(8192)) }
    }

    /// Saves the cursor of the last message (at the end of a connection).
    public func finish() async {
        if let lastCursor { await buffer.add([], source: source, cursor: lastCursor) }
    }

    private static func read(_ reader: JetstreamMessageReader, _ raw: UnsafeRawBufferPointer) -> (JetstreamMessageReader.Outcome, Int64?) {
        let outcome = reader.read(raw)
        return (outcome, outcome == .skipped ? JetstreamMessageReader.timeMicroseconds(raw) : nil)
    }

    private mutating func settle(_ outcome: JetstreamMessageReader.Outcome, skippedCursor: Int64?, payload: () -> [UInt8]) async {
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
            try? await queue.deadLetter(source: source, payload: payload(), error: reason)
        }
    }
}
