import Foundation
import GRDB
import JetstreamCompression

/// What the Jetstream-format view (`/subscribe`) sends one consumer: the
/// log from a unix-microsecond cursor (inclusive, so a consumer that
/// reconnects with the `time_us` of the last event it handled misses
/// nothing; delivery is at least once, as with Jetstream), then the live
/// tail, filtered by the consumer's current options. Consumers that asked
/// for zstd get each message compressed with Jetstream's dictionary, once
/// for all of them.
public struct JetstreamStream: Sendable {
    public let tail: LogTail
    let cache: EventViewCache<[JetstreamEvent]>
    let compressed: EventViewCache<[[UInt8]]>
    let compressor: ZstdCompressor

    public init(
        hub: SequencerHub, bufferSize: Int, cache: EventViewCache<[JetstreamEvent]> = EventViewCache(),
        compressor: ZstdCompressor
    ) {
        tail = LogTail(hub: hub, bufferSize: bufferSize)
        self.cache = cache
        self.compressed = EventViewCache(capacity: cache.capacity)
        self.compressor = compressor
    }

    /// Where a cursor starts: the seq before the first event at or after
    /// it; without a cursor, or with one past the last event, the live tail.
    /// A cursor older than the retained log starts at the oldest event.
    public func startSeq(cursor: Int64?) async throws -> Int64? {
        guard let cursor else { return nil }
        return try await tail.hub.reader.read { db in
            if let first = try Sequencer.firstSeq(atOrAfter: cursor, db: db) { return first - 1 }
            return try Sequencer.latestSeq(db: db)
        }
    }

    /// Sends messages (the JSON, or its zstd frame when `compress`) until
    /// the task is cancelled or `send` throws. `options` is read for every
    /// event, so an `options_update` applies from the next event on.
    /// - Returns: only when the consumer fell too far behind the live tail.
    public func run(
        cursor: Int64?, compress: Bool = false, options: @Sendable () -> JetstreamOptions,
        send: @Sendable ([UInt8]) async throws -> Void
    ) async throws {
        let after = try await startSeq(cursor: cursor)
        try await tail.follow(after: after) { event in
            let wanted = options()
            let messages = try cache.value(of: event, JetstreamEvent.messages)
            var frames: [[UInt8]]?
            if compress { frames = try compressed.value(of: event) { _ in messages.map { compressor.compress($0.json) } } }
            for (index, message) in messages.enumerated() where wanted.wants(message) {
                try await send(frames?[index] ?? message.json)
            }
        }
    }
}

