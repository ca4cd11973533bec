import Foundation
import Hummingbird
import HummingbirdWebSocket
import NIOCore
import Sequencer
import ServiceLifecycle
import ServiceStorage

/// `com.atproto.sync.subscribeRepos`: the event log over a WebSocket, one
/// binary message per frame.
enum SubscribeRepos {
    static let path: RouterPath = "/xrpc/com.atproto.sync.subscribeRepos"
    /// How long a consumer may take to read the last frames and answer the
    /// close before the connection is dropped.
    static let closeTimeout: Duration = .seconds(30)

    /// The router the WebSocket upgrade consults.
    static func router(services: PDSServices) -> Router<PDSRequestContext> {
        let router = Router(context: PDSRequestContext.self)
        let fanout = services.firehose
        router.ws(path) { inbound, outbound, context in
            let raw = context.request.uri.queryParameters.get("cursor")
            let channel = context.requestContext.channel
            try await withThrowingTaskGroup(of: Void.self) { group in
                // Ends when the consumer closes the connection (or answers
                // our close). Not cancelled while frames may still be queued:
                // cancelling the inbound stream closes the channel at once,
                // dropping what the consumer has not read yet.
                group.addTask { for try await _ in inbound {} }
                group.addTask {
                    try await stream(cursor: raw, channel: channel, fanout: fanout, services: services)
                    // The stream ended (an error frame was sent): close, and
                    // give the consumer time to read what is queued and answer.
                    try await outbound.close(.normalClosure, reason: nil)
                    try await Task.sleep(for: closeTimeout)
                }
                _ = try await group.next()
                group.cancelAll()
            }
        }
        JetstreamSubscribe.add(to: router, services: services)
        return router
    }

    /// Sends one consumer its stream: with a cursor, the retained events
    /// after it (`#info OutdatedCursor` first when some were pruned) and
    /// then the live tail, each seq exactly once and in order; without one,
    /// only the live tail. Returns when the stream ends with an error frame
    /// (`InvalidRequest`, `FutureCursor`, `ConsumerTooSlow`); the consumer
    /// closing the connection cancels it.
    static func stream(cursor raw: String?, channel: any Channel, fanout: FirehoseFanout, services: PDSServices) async throws {
        let connection = try await FirehoseConnection.open(
            channel: channel, bufferSize: services.config.subscriberBufferSize, sent: services.firehoseBytesSent)
        var after: Int64?
        if let raw {
            guard let cursor = Int64(raw), cursor >= 0 else {
                try await connection.replay([WebSocketMessage.error("InvalidRequest", "cursor must be a non-negative integer")])
                return
            }
            let (latest, oldest) = try await services.storage.read { tx in (try Sequencer.latestSeq(in: tx), try Sequencer.oldestSeq(in: tx)) }
            if cursor > latest {
                try await connection.replay([WebSocketMessage.error("FutureCursor", "Cursor in the future.")])
                return
            }
            after = cursor
            let firstRetained = oldest ?? latest + 1
            if cursor + 1 < firstRetained {
                try await connection.replay([
                    WebSocketMessage.binary(Frames.info("OutdatedCursor", message: "Requested cursor exceeded limit. Possibly missing events"))
                ])
                after = firstRetained - 1
            }
        }
        // Added before the backlog is read, so nothing committed meanwhile
        // is missed (the connection drops what it already sent).
        fanout.add(connection)
        defer { fanout.remove(connection) }
        if var last = after {
            while true {
                let from = last
                let events = try await services.storage.read { tx in
                    try Sequencer.events(after: from, limit: SequencerHub.batchSize, in: tx)
                }
                if let newest = events.last {
                    try await connection.replay(try events.map { try fanout.message(of: $0) })
                    last = newest.seq
                }
                if events.count < SequencerHub.batchSize && connection.goLive(after: last) { break }
            }
        } else {
            while !connection.goLive(after: 0) {}
        }
        switch await connection.ended() {
        case .tooSlow: return  // the connection sent ConsumerTooSlow
        case .closed: throw CancellationError()
        }
    }
}

/// Removes events beyond the retention age and count from the log, every
/// ``interval`` while the server runs.
public struct SequencerPruner: Service {
    let services: PDSServices
    public let interval: Duration

    public init(services: PDSServices, interval: Duration = .seconds(600)) {
        self.services = services
        self.interval = interval
    }

    /// One pass, in transactions of at most `batch` events with `pause`
    /// between them (see ``Sequencer/pruneBatch``): the writer is held for
    /// one batch at a time, and the checkpointer (a pass every 250 ms) copies
    /// each batch's pages before the next, so the write-ahead log starts
    /// over instead of growing by the whole backlog. - Returns: the number
    /// of events removed.
    @discardableResult
    public func runOnce(now: Date = Date(), batch: Int = Sequencer.pruneBatch, pause: Duration = .milliseconds(500))
        async throws -> Int
    {
        let config = services.config
        var total = 0
        while true {
            let removed = try await services.storage.write { tx in
                try Sequencer.prune(
                    maxAge: config.sequencerRetention, maxCount: config.sequencerMaxEvents, now: now, limit: batch, in: tx)
            }
            total += removed
            if removed < batch { return total }
            services.checkpointer.noteWrite()
            try await Task.sleep(for: pause)
        }
    }

    public func run() async throws {
        while true {
            do {
                let removed = try await runOnce()
                if removed > 0 { services.logger.info("event log pruned", metadata: ["removed": .stringConvertible(removed)]) }
            } catch {
                services.logger.error("event log pruning failed", metadata: ["error": "\(error)"])
            }
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            } catch {
                return  // shutting down
            }
        }
    }
}

/// Pokes the fan-out every ``interval``, so that events appended by another
/// process on the same database (the `pds` command line) reach live
/// consumers even when this server writes nothing.
struct SequencerPoller: Service {
    let services: PDSServices
    var interval: Duration = .seconds(2)

    func run() async throws {
        while true {
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            } catch {
                return  // shutting down
            }
            services.sequencer.notify()
        }
    }
}
