import Foundation
import NIOCore
import Sequencer
import Synchronization

/// One `subscribeRepos` consumer's socket, written directly on its event
/// loop with whole WebSocket messages.
///
/// It is attached to the ``FirehoseFanout`` before its backlog is read, so
/// nothing committed meanwhile is missed: live batches that arrive while
/// the backlog is sent are kept (up to the buffer size) and sent after it,
/// each seq once. Live, it counts the events handed to the socket and not
/// yet written; a consumer that lets more than `bufferSize` pile up is sent
/// `ConsumerTooSlow` and dropped, so it never holds up the others.
final class FirehoseConnection: Sendable {
    /// Why the stream to this consumer ended.
    enum End: Sendable {
        case tooSlow
        case closed
    }

    private struct State {
        var live = false
        /// The highest seq handed to the socket.
        var lastSeq: Int64 = 0
        var buffered: [FirehoseBatch] = []
        var bufferedCount = 0
        var overflowed = false
        /// Live messages handed over and not yet given to the socket; a
        /// write task is scheduled on the event loop while this is not empty.
        var unsent: [ByteBuffer] = []
        var unsentCount = 0
        var end: End?
        var waiter: CheckedContinuation<End, Never>?
    }

    let bufferSize: Int
    private let writer: NIOLoopBound<RawMessageWriter>
    private let state = Mutex(State())
    /// Events handed to the socket and not yet written to the kernel.
    private let inFlight = Atomic<Int>(0)

    /// Where the bytes handed to the socket are counted (`/metrics`).
    private let sent: SharedCounter?

    private init(writer: NIOLoopBound<RawMessageWriter>, bufferSize: Int, sent: SharedCounter?) {
        self.writer = writer
        self.bufferSize = bufferSize
        self.sent = sent
    }

    /// Adds the raw writer to `channel`'s pipeline (next to the socket).
    static func open(channel: any Channel, bufferSize: Int, sent: SharedCounter? = nil) async throws -> FirehoseConnection {
        try await channel.eventLoop.submit { try attach(to: channel, bufferSize: bufferSize, sent: sent) }.get()
    }

    /// ``open(channel:bufferSize:sent:)`` on the channel's event loop.
    static func attach(to channel: any Channel, bufferSize: Int, sent: SharedCounter? = nil) throws -> FirehoseConnection {
        let handler = RawMessageWriter()
        try channel.pipeline.syncOperations.addHandler(handler, position: .first)
        return FirehoseConnection(writer: NIOLoopBound(handler, eventLoop: channel.eventLoop), bufferSize: bufferSize, sent: sent)
    }

    /// Sends backlog messages and waits until the socket took them (the
    /// backpressure of a replay).
    func replay(_ messages: [ByteBuffer]) async throws {
        var joined = ByteBuffer()
        for message in messages { joined.writeImmutableBuffer(message) }
        let bytes = joined
        sent?.add(bytes.readableBytes)
        let writer = writer
        let future = writer.eventLoop.flatSubmit {
            writer.value.writeAndFlush(bytes) ?? writer.eventLoop.makeFailedFuture(ChannelError.ioOnClosedChannel)
        }
        try await future.get()
    }

    /// The backlog up to `seq` was sent: send what arrived meanwhile and go
    /// live. - Returns: false when more arrived than the buffer holds (the
    ///   caller reads on from the log and tries again).
    func goLive(after seq: Int64) -> Bool {
        state.withLock { state in
            if state.overflowed {
                state.overflowed = false
                state.buffered = []
                state.bufferedCount = 0
                return false
            }
            state.lastSeq = seq
            for batch in state.buffered { send(batch, state: &state) }
            state.buffered = []
            state.bufferedCount = 0
            state.live = true
            return true
        }
    }

    /// A live batch from the fan-out. - Returns: false once this stream ended.
    func offer(_ batch: FirehoseBatch) -> Bool {
        enum Outcome { case ended, taken, cutOff }
        let outcome: Outcome = state.withLock { state in
            guard state.end == nil else { return .ended }
            guard state.live else {
                state.buffered.append(batch)
                state.bufferedCount += batch.messages.count
                if state.bufferedCount > bufferSize {
                    state.overflowed = true
                    state.buffered = []
                    state.bufferedCount = 0
                }
                return .taken
            }
            if inFlight.load(ordering: .relaxed) + batch.messages.count > bufferSize {
                finish(.tooSlow, state: &state)
                return .cutOff
            }
            send(batch, state: &state)
            return .taken
        }
        if outcome == .cutOff {
            let writer = writer
            let frame = WebSocketMessage.error("ConsumerTooSlow", "Stream consumer too slow")
            writer.eventLoop.execute { _ = writer.value.writeAndFlush(frame) }
        }
        return outcome == .taken
    }

    /// Waits until the stream ends: the consumer fell behind, or ``close()``.
    func ended() async -> End {
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let done: End? = state.withLock { state in
                    if let end = state.end { return end }
                    state.waiter = continuation
                    return nil
                }
                if let done { continuation.resume(returning: done) }
            }
        } onCancel: {
            close()
        }
    }

    /// Ends the stream (the consumer went away).
    func close() {
        state.withLock { finish(.closed, state: &$0) }
    }

    private func finish(_ end: End, state: inout State) {
        guard state.end == nil else { return }
        state.end = end
        state.buffered = []
        state.waiter?.resume(returning: end)
        state.waiter = nil
    }

    /// Hands the batch's messages after `lastSeq` to the socket, in order
    /// (called under the state lock, so batches keep their order). While an
    /// earlier hand-over waits for the event loop, the messages join it: a
    /// busy loop writes each consumer once for everything that piled up,
    /// instead of once per batch.
    private func send(_ batch: FirehoseBatch, state: inout State) {
        let (bytes, count) = batch.after(state.lastSeq)
        guard count > 0 else { return }
        state.lastSeq = batch.lastSeq
        inFlight.add(count, ordering: .relaxed)
        state.unsent.append(bytes)
        state.unsentCount += count
        guard state.unsent.count == 1 else { return }
        writer.eventLoop.execute { [self] in writeUnsent() }
    }

    /// On the event loop: gives the socket what was handed over.
    private func writeUnsent() {
        let (messages, count) = state.withLock { state in
            defer {
                state.unsent = []
                state.unsentCount = 0
            }
            return (state.unsent, state.unsentCount)
        }
        guard !messages.isEmpty else { return }
        sent?.add(messages.reduce(0) { $0 + $1.readableBytes })
        guard let written = writer.value.write(messages) else {
            inFlight.subtract(count, ordering: .relaxed)
            return
        }
        written.whenComplete { _ in self.inFlight.subtract(count, ordering: .relaxed) }
    }
}

/// Writes bytes that are already whole WebSocket messages straight to the
/// socket, below the frame encoder (it sits first in the pipeline).
final class RawMessageWriter: ChannelOutboundHandler {
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private var context: ChannelHandlerContext?

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    /// Writes and flushes `bytes`; nil once the channel is gone.
    func writeAndFlush(_ bytes: ByteBuffer) -> EventLoopFuture<Void>? {
        write([bytes])
    }

    /// Writes `buffers` and flushes them together (one system call for all
    /// of them while the socket takes them); nil once the channel is gone.
    /// - Returns: the write of the last buffer, done when all are.
    func write(_ buffers: [ByteBuffer]) -> EventLoopFuture<Void>? {
        guard let context, let last = buffers.last else { return nil }
        for buffer in buffers.dropLast() { context.write(wrapOutboundOut(buffer), promise: nil) }
        let promise = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(wrapOutboundOut(last), promise: promise)
        return promise.futureResult
    }
}
