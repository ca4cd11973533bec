import Synchronization

/// The form a stream sends of the most recent log events (a firehose frame,
/// Jetstream JSON messages), shared by every consumer of that stream so
/// that each event is encoded once, not once per consumer.
public final class EventViewCache<Value: Sendable>: Sendable {
    private struct State {
        var values: [Int64: Value] = [:]
        var order: [Int64] = []
        var head = 0
    }

    private let state = Mutex(State())
    /// How many events are kept (the newest).
    public let capacity: Int

    public init(capacity: Int = 4_096) {
        self.capacity = capacity
    }

    /// The view of `event`, made now by `make` or taken from the cache.
    public func value(of event: SequencedEvent, _ make: (SequencedEvent) throws -> Value) throws -> Value {
        if let cached = state.withLock({ $0.values[event.seq] }) { return cached }
        let value = try make(event)
        state.withLock { state in
            guard state.values[event.seq] == nil else { return }
            state.values[event.seq] = value
            state.order.append(event.seq)
            if state.order.count - state.head > capacity {
                state.values[state.order[state.head]] = nil
                state.head += 1
                if state.head > capacity {
                    state.order.removeFirst(state.head)
                    state.head = 0
                }
            }
        }
        return value
    }
}
