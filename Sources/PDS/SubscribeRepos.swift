import Foundation
import GRDB
import Hummingbird
import HummingbirdWebSocket
import NIOCore
import Sequencer
import ServiceLifecycle

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
        let stream = RepoStream(hub: services.sequencer, bufferSize: services.config.subscriberBufferSize)
        router.ws(path) { inbound, outbound, context in
            let raw = context.request.uri.queryParameters.get("cursor")
            let cursor = raw.flatMap { Int64($0) }
            try await withThrowingTaskGroup(of: Void.self) { group in
                // Ends when the consumer closes the connection (or answers
                // our close). Not cancelled while frames may still be queued:
                // cancelling the inbound stream closes the channel at once,
                // dropping what the consumer has not read yet.
                group.addTask { for try await _ in inbound {} }
                group.addTask {
                    if raw != nil && (cursor == nil || cursor! < 0) {
                        try await outbound.write(
                            .binary(ByteBuffer(bytes: Frames.error("InvalidRequest", message: "cursor must be a non-negative integer"))))
                    } else {
                        try await stream.run(cursor: cursor) { frame in
                            try await outbound.write(.binary(ByteBuffer(bytes: frame)))
                        }
                    }
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

    /// One pass. - Returns: the number of events removed.
    @discardableResult
    public func runOnce(now: Date = Date()) async throws -> Int {
        let config = services.config
        return try await services.pool.write { db in
            try Sequencer.prune(maxAge: config.sequencerRetention, maxCount: config.sequencerMaxEvents, now: now, db: db)
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
