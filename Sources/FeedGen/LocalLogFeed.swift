import Sequencer
import Synchronization

/// The live events of the PDS's own log, handed over by the sequencer hub
/// (which has just read them for the firehose) and kept until the local
/// ingest takes them, so that following the log costs no database read and
/// no task per commit. Bounded: past `limit` waiting events it drops them
/// and says so, and the ingest reads from its cursor in the database
/// instead.
final class LocalLogFeed: SequencerSink {
    /// What ``take()`` returns.
    struct Delivery {
        var events: [SequencedEvent] = []
        /// Events were dropped (the ingest fell behind): read the database.
        var overflowed = false
        /// Woken by ``poke()`` with nothing new: look at the database.
        var poked = false
    }

    private struct State {
        var delivery = Delivery()
        var waiter: CheckedContinuation<Delivery, Never>?
    }

    private let state = Mutex(State())
    let limit: Int

    init(limit: Int) {
        self.limit = limit
    }

    /// Called by the hub on its executor with each batch of new events.
    func deliver(_ events: [SequencedEvent]) {
        hand { delivery in
            if delivery.overflowed { return }
            if delivery.events.count + events.count > limit {
                delivery.events = []
                delivery.overflowed = true
            } else {
                delivery.events += events
            }
        }
    }

    /// Wakes the ingest to look at the database (a safety net, every second).
    func poke() {
        hand { $0.poked = true }
    }

    /// What arrived since the last call, waiting for something if need be.
    func take() async -> Delivery {
        await withCheckedContinuation { continuation in
            let ready = state.withLock { s -> Delivery? in
                if s.delivery.events.isEmpty && !s.delivery.overflowed && !s.delivery.poked {
                    s.waiter = continuation
                    return nil
                }
                defer { s.delivery = Delivery() }
                return s.delivery
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }

    private func hand(_ change: (inout Delivery) -> Void) {
        let (waiter, delivery) = state.withLock { s -> (CheckedContinuation<Delivery, Never>?, Delivery) in
            change(&s.delivery)
            guard let waiter = s.waiter else { return (nil, Delivery()) }
            s.waiter = nil
            defer { s.delivery = Delivery() }
            return (waiter, s.delivery)
        }
        waiter?.resume(returning: delivery)
    }
}
