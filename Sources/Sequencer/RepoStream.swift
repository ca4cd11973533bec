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
    /// The frames of recent events, shared by the consumers.
    let frames: EventViewCache<[UInt8]>

    public init(hub: SequencerHub, bufferSize: Int = 1_000, frames: EventViewCache<[UInt8]> = EventViewCache()) {
        self.hub = hub
        self.bufferSize = bufferSize
        self.frames = frames
    }

    /// Sends frames until the task is cancelled, `send` throws, or the
    /// stream ends with an error frame (`FutureCursor`, `ConsumerTooSlow`).
    public func run(cursor: Int64?, send: @Sendable ([UInt8]) async throws -> Void) async throws {
        var after: Int64?
        if let cursor {
            let (latest, oldest) = try await hub.reader.read { db in (try Sequencer.latestSeq(db: db), try Sequencer.oldestSeq(db: db)) }
            if cursor > latest {
                try await send(Frames.error("FutureCursor", message: "Cursor in the future."))
                return
            }
            after = cursor
            let firstRetained = oldest ?? latest + 1
            if cursor + 1 < firstRetained {
                try await send(Frames.info("OutdatedCursor", message: "Requested cursor exceeded limit. Possibly missing events"))
                after = firstRetained - 1
            }
        }
        try await LogTail(hub: hub, bufferSize: bufferSize).follow(after: after) { event in
            try await send(try frames.value(of: event) { try $0.frame() })
        }
        // The tail ends by itself only when the consumer fell behind.
        try await send(Frames.error("ConsumerTooSlow", message: "Stream consumer too slow"))
    }
}
