import Foundation
import NIOCore
import Sequencer
import Synchronization

/// Live delivery of `subscribeRepos` frames to every connected consumer.
///
/// The hub hands it each batch of new events; it encodes each event once as
/// a complete WebSocket message (see ``WebSocketMessage``), gathers what
/// arrives within ``flushInterval`` of the previous delivery, and hands
/// every consumer the same bytes. A consumer whose event loop has not yet
/// written what it was handed before gets the new bytes joined to it (see
/// ``FirehoseConnection``), so the number of socket writes follows what the
/// event loops can do: few events per write when the machine is idle, many
/// when it is busy, never one write per event per consumer (with 1,000
/// consumers that cost the server ~18 µs of CPU per delivered frame). When
/// the log is quiet an event goes out at once.
public final class FirehoseFanout: SequencerSink {
    /// The longest a live event waits to be batched with later ones.
    public let flushInterval: Duration
    /// Encoded messages of recent events, shared with replaying consumers.
    let messages = EventViewCache<ByteBuffer>()

    private struct State {
        var connections: [ObjectIdentifier: FirehoseConnection] = [:]
        var waiting: [SequencedEvent] = []
        var flushScheduled = false
        var lastFlush: ContinuousClock.Instant?
    }

    private let state = Mutex(State())
    /// Held for a whole flush: two flushes never interleave their batches.
    private let flushing = Mutex(())

    public init(flushInterval: Duration = .milliseconds(5)) {
        self.flushInterval = flushInterval
    }

    /// The complete WebSocket message of `event`, encoded once.
    func message(of event: SequencedEvent) throws -> ByteBuffer {
        try messages.value(of: event) { WebSocketMessage.binary(try $0.frame()) }
    }

    func add(_ connection: FirehoseConnection) {
        state.withLock { $0.connections[ObjectIdentifier(connection)] = connection }
    }

    func remove(_ connection: FirehoseConnection) {
        _ = state.withLock { $0.connections.removeValue(forKey: ObjectIdentifier(connection)) }
    }

    /// The consumers connected now.
    public var connectionCount: Int { state.withLock { $0.connections.count } }

    public func deliver(_ events: [SequencedEvent]) {
        let now = ContinuousClock.now
        let delay: Duration? = state.withLock { state in
            state.waiting += events
            guard !state.flushScheduled else { return nil }
            state.flushScheduled = true
            guard let last = state.lastFlush else { return .zero }
            return max(.zero, last + flushInterval - now)
        }
        guard let delay else { return }
        if delay == .zero {
            flush()
        } else {
            Task {
                try? await Task.sleep(for: delay)
                self.flush()
            }
        }
    }

    /// Sends what is waiting to every live consumer.
    private func flush() {
        flushing.withLock { _ in flushWaiting() }
    }

    private func flushWaiting() {
        let (events, connections) = state.withLock { state in
            defer {
                state.waiting = []
                state.flushScheduled = false
                state.lastFlush = .now
            }
            return (state.waiting, Array(state.connections.values))
        }
        guard !events.isEmpty, !connections.isEmpty else { return }
        var encoded: [(seq: Int64, message: ByteBuffer)] = []
        encoded.reserveCapacity(events.count)
        for event in events {
            // An event whose body cannot be read is skipped, as the replay
            // path does (it was checked when written).
            if let message = try? message(of: event) { encoded.append((event.seq, message)) }
        }
        let batch = FirehoseBatch(encoded)
        for connection in connections where !connection.offer(batch) {
            remove(connection)
        }
    }
}

/// Consecutive events as WebSocket messages, and all of them in one
/// buffer: what most consumers are sent.
struct FirehoseBatch: Sendable {
    let messages: [(seq: Int64, message: ByteBuffer)]
    let joined: ByteBuffer

    init(_ messages: [(seq: Int64, message: ByteBuffer)]) {
        self.messages = messages
        var joined = ByteBuffer()
        joined.reserveCapacity(messages.reduce(0) { $0 + $1.message.readableBytes })
        for item in messages { joined.writeImmutableBuffer(item.message) }
        self.joined = joined
    }

    var firstSeq: Int64 { messages.first?.seq ?? 0 }
    var lastSeq: Int64 { messages.last?.seq ?? 0 }

    /// The bytes of the messages after `seq`, and how many there are.
    func after(_ seq: Int64) -> (bytes: ByteBuffer, count: Int) {
        if seq < firstSeq { return (joined, messages.count) }
        var bytes = ByteBuffer()
        var count = 0
        for item in messages where item.seq > seq {
            bytes.writeImmutableBuffer(item.message)
            count += 1
        }
        return (bytes, count)
    }
}

/// A whole unmasked WebSocket message (RFC 6455 §5.2), as a server sends
/// it: written to the socket as is, below the frame encoder.
enum WebSocketMessage {
    static func binary(_ payload: [UInt8]) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.reserveCapacity(payload.count + 10)
        buffer.writeInteger(UInt8(0x82))  // FIN, opcode 2 (binary)
        switch payload.count {
        case ..<126: buffer.writeInteger(UInt8(payload.count))
        case ..<65536:
            buffer.writeInteger(UInt8(126))
            buffer.writeInteger(UInt16(payload.count))
        default:
            buffer.writeInteger(UInt8(127))
            buffer.writeInteger(UInt64(payload.count))
        }
        buffer.writeBytes(payload)
        return buffer
    }

    /// An error frame (`{op: -1}`) as a whole message.
    static func error(_ name: String, _ message: String) -> ByteBuffer {
        binary(Frames.error(name, message: message))
    }
}
