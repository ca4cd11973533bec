import Foundation
import GRDB
import Synchronization

/// Takes every batch of new events the hub reads, in seq order. Called on
/// the hub's executor: it must return quickly (hand the events on, no I/O).
public protocol SequencerSink: AnyObject, Sendable {
    func deliver(_ events: [SequencedEvent])
}

/// Live fan-out of the log. Writers call ``notify()`` after their
/// transaction commits; the hub then reads the new events from the database
/// in seq order and offers each to every subscriber's bounded buffer. A
/// subscriber whose buffer is full is cut off (marked too slow), so a slow
/// consumer never holds up writers or other consumers.
public actor SequencerHub {
    let reader: any DatabaseReader
    /// The highest seq offered to subscribers.
    private var broadcastSeq: Int64
    private var subscribers: [Int: Subscription] = [:]
    private var sinks: [any SequencerSink]
    private var nextID = 0
    /// Set by ``notify()`` until the pump it started runs: notifications
    /// meanwhile start no further task.
    private let pumpRequested = Atomic<Bool>(false)
    /// Whether a pump is running (it suspends while it reads), and whether
    /// another was asked for meanwhile: pumps never overlap, so events are
    /// offered once each and in seq order.
    private var pumping = false
    private var pumpAgain = false
    /// Events read from the log at a time.
    public static let batchSize = 100

    /// - Parameter sinks: handed every batch of events from now on.
    public init(reader: any DatabaseReader, sinks: [any SequencerSink] = []) throws {
        self.reader = reader
        self.sinks = sinks
        broadcastSeq = try reader.read { db in try Sequencer.latestSeq(db: db) }
    }

    /// New events were committed: deliver them. Returns at once.
    public nonisolated func notify() {
        guard !pumpRequested.exchange(true, ordering: .acquiringAndReleasing) else { return }
        Task { await self.pump() }
    }

    /// Hands `sink` every batch of events read from now on.
    public func attach(_ sink: any SequencerSink) {
        sinks.append(sink)
    }

    /// Stops handing events to `sink`.
    public func detach(_ sink: any SequencerSink) {
        sinks.removeAll { $0 === sink }
    }

    /// A live subscription: every event committed from now on (possibly
    /// a few earlier ones too; consumers de-duplicate by seq).
    public func subscribe(bufferSize: Int) -> Subscription {
        let id = nextID
        nextID += 1
        let subscription = Subscription(id: id, bufferSize: bufferSize, hub: self)
        subscribers[id] = subscription
        return subscription
    }

    func remove(_ id: Int) {
        subscribers[id] = nil
    }

    public var subscriberCount: Int { subscribers.count }

    /// Delivers every event after ``broadcastSeq``. A notification that
    /// arrives during a pump makes it read once more (the flag is cleared
    /// before the read).
    ///
    /// The read is GRDB's asynchronous one. It used to be synchronous, on
    /// this actor's thread, to save the hop to the reader's queue. That
    /// blocked a thread of Swift's cooperative pool (2 on this machine)
    /// while it waited for a free reader connection. The suite hung that
    /// way: both pool threads sat in two servers' pumps, waiting for
    /// readers held by async reads that needed a pool thread to finish.
    private func pump() async {
        pumpRequested.store(false, ordering: .releasing)
        guard !pumping else {
            pumpAgain = true
            return
        }
        pumping = true
        defer { pumping = false }
        while true {
            pumpAgain = false
            let after = broadcastSeq
            guard let events = try? await Self.events(after: after, from: reader) else { return }
            if !events.isEmpty {
                for sink in sinks { sink.deliver(events) }
            }
            for event in events {
                for (id, subscriber) in subscribers where !subscriber.offer(event) {
                    subscribers[id] = nil
                }
            }
            if let last = events.last { broadcastSeq = last.seq }
            if events.count < Self.batchSize && !pumpAgain { return }
        }
    }

    /// Up to ``batchSize`` events after `seq`.
    private static func events(after seq: Int64, from reader: any DatabaseReader) async throws -> [SequencedEvent] {
        try await reader.read { db in try Sequencer.events(after: seq, limit: batchSize, db: db) }
    }

    /// One subscriber's bounded buffer of events.
    public final class Subscription: Sendable {
        let id: Int
        public let events: AsyncStream<SequencedEvent>
        private let continuation: AsyncStream<SequencedEvent>.Continuation
        private let overflowed = Atomic<Bool>(false)
        private let hub: SequencerHub

        init(id: Int, bufferSize: Int, hub: SequencerHub) {
            self.id = id
            self.hub = hub
            (events, continuation) = AsyncStream.makeStream(of: SequencedEvent.self, bufferingPolicy: .bufferingOldest(bufferSize))
        }

        /// Whether the buffer overflowed (the stream then ended).
        public var tooSlow: Bool { overflowed.load(ordering: .acquiring) }

        /// Offers an event; false when the subscriber is gone or too slow.
        func offer(_ event: SequencedEvent) -> Bool {
            switch continuation.yield(event) {
            case .enqueued: return true
            case .dropped:
                overflowed.store(true, ordering: .releasing)
                continuation.finish()
                return false
            case .terminated: return false
            @unknown default: return false
            }
        }

        /// Ends the subscription.
        public func cancel() {
            continuation.finish()
            let hub = hub, id = id
            Task { await hub.remove(id) }
        }
    }
}
