import Foundation
import GRDB
import Synchronization

/// What the Jetstream-format view (`/subscribe`) sends one consumer: the
/// log from a unix-microsecond cursor (inclusive, so a consumer that
/// reconnects with the `time_us` of the last event it handled misses
/// nothing; delivery is at least once, as with Jetstream), then the live
/// tail, filtered by the consumer's current options.
public struct JetstreamStream: Sendable {
    public let tail: LogTail
    let cache: JetstreamCache

    public init(hub: SequencerHub, bufferSize: Int, cache: JetstreamCache = JetstreamCache()) {
        tail = LogTail(hub: hub, bufferSize: bufferSize)
        self.cache = cache
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

    /// Sends JSON messages until the task is cancelled or `send` throws.
    /// `options` is read for every event, so an `options_update` applies
    /// from the next event on.
    /// - Returns: only when the consumer fell too far behind the live tail.
    public func run(
        cursor: Int64?, options: @Sendable () -> JetstreamOptions, send: @Sendable ([UInt8]) async throws -> Void
    ) async throws {
        let after = try await startSeq(cursor: cursor)
        try await tail.follow(after: after) { event in
            let wanted = options()
            for message in try cache.messages(of: event) where wanted.wants(message) {
                try await send(message.json)
            }
        }
    }
}

/// The Jetstream messages of the most recent log events, shared by every
/// consumer so that each event is converted to JSON once, not once per
/// consumer.
public final class JetstreamCache: Sendable {
    private struct State {
        var messages: [Int64: [JetstreamEvent]] = [:]
        var order: [Int64] = []
        var head = 0
    }

    private let state = Mutex(State())
    public let capacity: Int

    public init(capacity: Int = 4_096) {
        self.capacity = capacity
    }

    /// The messages of `event`, converted now or taken from the cache.
    public func messages(of event: SequencedEvent) throws -> [JetstreamEvent] {
        if let cached = state.withLock({ $0.messages[event.seq] }) { return cached }
        let messages = try JetstreamEvent.messages(of: event)
        state.withLock { state in
            guard state.messages[event.seq] == nil else { return }
            state.messages[event.seq] = messages
            state.order.append(event.seq)
            if state.order.count - state.head > capacity {
                state.messages[state.order[state.head]] = nil
                state.head += 1
                if state.head > capacity {
                    state.order.removeFirst(state.head)
                    state.head = 0
                }
            }
        }
        return messages
    }
}
