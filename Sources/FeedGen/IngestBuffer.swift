import Foundation
import Logging

/// Collects the events the sources admit and writes them to the queue in
/// group commits: whatever arrived while the previous write was running
/// goes in the next one, so a lone event is queued at once and a flood is
/// written in large transactions. Each source's cursor is saved with its
/// events, or on its own at most once per second when nothing matched.
public actor IngestBuffer {
    private let queue: IngestQueue
    private let onQueued: @Sendable () -> Void
    private let logger: Logger
    private var pending: [String: (events: [IngestEvent], cursor: Int64?)] = [:]
    private var lastCursorSave: [String: ContinuousClock.Instant] = [:]
    private var flushing = false
    private var waiters: [CheckedContinuation<Void, Never>] = []
    /// Above this many pending events, `add` waits for the queue to catch up.
    private let highWater = 5_000

    public init(queue: IngestQueue, logger: Logger, onQueued: @escaping @Sendable () -> Void) {
        self.queue = queue
        self.logger = logger
        self.onQueued = onQueued
    }

    /// Adds admitted `events` of `source`, read up to `cursor`.
    public func add(_ events: [IngestEvent], source: String, cursor: Int64?) async {
        var entry = pending[source] ?? ([], nil)
        entry.events += events
        if let cursor { entry.cursor = cursor }
        pending[source] = entry
        let now = ContinuousClock.now
        let cursorDue = lastCursorSave[source].map { now - $0 >= .seconds(1) } ?? true
        if !events.isEmpty || cursorDue { startFlushing() }
        if pendingCount > highWater { await drain() }
    }

    /// Returns once everything added so far is in the queue.
    public func drain() async {
        if pending.isEmpty && !flushing { return }
        startFlushing()
        await withCheckedContinuation { waiters.append($0) }
    }

    private var pendingCount: Int { pending.values.reduce(0) { $0 + $1.events.count } }

    private func startFlushing() {
        guard !flushing else { return }
        flushing = true
        Task { await self.flushLoop() }
    }

    private func flushLoop() async {
        while !pending.isEmpty {
            let batch = pending
            pending = [:]
            var wroteEvents = false
            for (source, entry) in batch {
                do {
                    try await queue.enqueue(entry.events, source: source, cursor: entry.cursor)
                    lastCursorSave[source] = .now
                    wroteEvents = wroteEvents || !entry.events.isEmpty
                } catch {
                    // Put them back in front; the next add or drain retries.
                    logger.error("feedgen: queue write failed; will retry", metadata: ["error": "\(error)"])
                    var entryNow = pending[source] ?? ([], nil)
                    entryNow.events = entry.events + entryNow.events
                    entryNow.cursor = entryNow.cursor ?? entry.cursor
                    pending[source] = entryNow
                    try? await Task.sleep(for: .milliseconds(200))
                }
            }
            if wroteEvents { onQueued() }
        }
        flushing = false
        let resumed = waiters
        waiters = []
        for waiter in resumed { waiter.resume() }
    }
}
