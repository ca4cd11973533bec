import Foundation
import GRDB

/// Follows the event log for one consumer: the retained events after a
/// position, then the live tail, each seq exactly once and in order. The
/// firehose (`subscribeRepos`) and the Jetstream-format view both read the
/// log through it.
public struct LogTail: Sendable {
    public let hub: SequencerHub
    /// Events a consumer may fall behind the live tail by before it is cut off.
    public let bufferSize: Int

    public init(hub: SequencerHub, bufferSize: Int) {
        self.hub = hub
        self.bufferSize = bufferSize
    }

    /// Delivers every event after `seq` (only live events when nil) until
    /// the task is cancelled or `deliver` throws.
    /// - Returns: only when the consumer fell more than `bufferSize` events
    ///   behind the live tail and was cut off.
    public func follow(after seq: Int64?, deliver: (SequencedEvent) async throws -> Void) async throws {
        let reader = hub.reader
        var last: Int64
        var subscription: SequencerHub.Subscription
        if let seq {
            last = seq
            // Subscribe before reading the backlog, so nothing committed
            // meanwhile is missed; a subscription that overflows while the
            // backlog is sent is replaced, and the backlog read on.
            while true {
                subscription = await hub.subscribe(bufferSize: bufferSize)
                while true {
                    try Task.checkCancellation()
                    let after = last
                    let batch = try await reader.read { db in try Sequencer.events(after: after, limit: SequencerHub.batchSize, db: db) }
                    for event in batch {
                        try await deliver(event)
                        last = event.seq
                    }
                    if batch.count < SequencerHub.batchSize { break }
                }
                if !subscription.tooSlow { break }
                subscription.cancel()
            }
        } else {
            subscription = await hub.subscribe(bufferSize: bufferSize)
            last = 0
        }
        defer { subscription.cancel() }
        for await event in subscription.events where event.seq > last {
            try await deliver(event)
            last = event.seq
        }
        try Task.checkCancellation()
    }
}
