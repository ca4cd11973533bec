import Foundation
import GRDB

/// What `com.atproto.sync.subscribeRepos` sends one consumer: with a
/// cursor, the retained events after it (an `#info OutdatedCursor` first
/// when some were pruned) and then the live tail, each seq exactly once and
/// in order; without one, only the live tail.
public struct RepoStream: Sendable {
    public let hub: SequencerHub
    /// Events a consumer may fall behind by before it is cut off.
    public let bufferSize: Int

    public init(hub: SequencerHub, bufferSize: Int = 1_000) {
        self.hub = hub
        self.bufferSize = bufferSize
    }

    /// Sends frames until the task is cancelled, `send` throws, or the
    /// stream ends with an error frame (`FutureCursor`, `ConsumerTooSlow`).
    public func run(cursor: Int64?, send: @Sendable ([UInt8]) async throws -> Void) async throws {
        let reader = hub.reader
        var last: Int64
        var subscription: SequencerHub.Subscription
        if let cursor {
            let (latest, oldest) = try await reader.read { db in (try Sequencer.latestSeq(db: db), try Sequencer.oldestSeq(db: db)) }
            if cursor > latest {
                try await send(Frames.error("FutureCursor", message: "Cursor in the future."))
                return
            }
            last = cursor
            let firstRetained = oldest ?? latest + 1
            if cursor + 1 < firstRetained {
                try await send(Frames.info("OutdatedCursor", message: "Requested cursor exceeded limit. Possibly missing events"))
                last = firstRetained - 1
            }
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
                        try await send(try event.frame())
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
            try await send(try event.frame())
            last = event.seq
        }
        if subscription.tooSlow {
            try await send(Frames.error("ConsumerTooSlow", message: "Stream consumer too slow"))
        }
    }
}
