import ATProto
import Foundation
import Logging
import Synchronization

/// Takes events from the durable queue in batches (up to `batchSize`, at
/// once when woken by the ingest side, or every `batchInterval` when idle),
/// applies each to the index, and settles the batch: done events leave the
/// queue, failures are retried with backoff, and events that can never be
/// applied (or fail `maxAttempts` times) go to the dead-letter table.
public final class QueueProcessor: Sendable {
    let queue: IngestQueue
    let indexer: EventIndexer
    let batchSize: Int
    let batchInterval: Duration
    let maxAttempts: Int
    let logger: Logger
    private let wakeSignal = WakeSignal()
    private let processedCount = Atomic<Int>(0)

    public init(queue: IngestQueue, indexer: EventIndexer, config: FeedGenConfig, logger: Logger) {
        self.queue = queue
        self.indexer = indexer
        self.batchSize = config.batchSize
        self.batchInterval = .milliseconds(config.batchIntervalMilliseconds)
        self.maxAttempts = config.maxAttempts
        self.logger = logger
    }

    /// New events were queued.
    public func notify() {
        wakeSignal.signal()
    }

    /// Events applied (or dead-lettered) since start.
    public var processed: Int { processedCount.load(ordering: .relaxed) }

    /// Runs until cancelled.
    public func run() async {
        while !Task.isCancelled {
            let handled: Int
            do {
                handled = try await processBatch()
            } catch {
                logger.error("feedgen: queue read failed", metadata: ["error": "\(error)"])
                handled = 0
            }
            if handled == 0 {
                // Idle: wait for new events, or look again after the interval
                // (retries become due with time).
                await wakeSignal.wait(timeout: batchInterval)
            }
        }
    }

    /// Processes one batch. - Returns: how many events it settled.
    @discardableResult
    public func processBatch(now: Date = Date()) async throws -> Int {
        let items = try await queue.ready(limit: batchSize, now: now)
        guard !items.isEmpty else { return 0 }
        var done: [Int64] = []
        var failed: [(item: IngestQueue.Item, error: String)] = []
        for item in items {
            do {
                let value = try ATProtoJSON.decode(item.payload, mode: .lenient)
                let event = try IngestEvent(dataValue: value)
                try await indexer.apply(event, now: now)
                done.append(item.id)
            } catch let error as FeedGenError {
                // Never applicable: straight to the dead letters.
                logger.warning("feedgen: event refused", metadata: ["error": "\(error)", "source": .string(item.source)])
                failed.append((IngestQueue.Item(id: item.id, source: item.source, payload: item.payload, attempts: maxAttempts), "\(error)"))
            } catch let error as ATProtoJSONError {
                failed.append((IngestQueue.Item(id: item.id, source: item.source, payload: item.payload, attempts: maxAttempts), "\(error)"))
            } catch {
                logger.warning("feedgen: event failed; will retry", metadata: ["error": "\(error)", "attempts": "\(item.attempts + 1)"])
                failed.append((item, "\(error)"))
            }
        }
        try await queue.settle(done: done, failed: failed, maxAttempts: maxAttempts, now: now)
        processedCount.add(items.count, ordering: .relaxed)
        return items.count
    }
}
