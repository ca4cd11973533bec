import NIOCore
import NIOEmbedded
import PDSTestSupport
import Testing

@testable import PDS

/// The firehose's own WebSocket encoding and the batches it sends.
@Suite("Firehose batches")
struct FirehoseBatchTests {
    @Test func messagesCarryTheLengthInTheFormRFC6455Asks() {
        for (size, headerLength) in [(0, 2), (125, 2), (126, 4), (65_535, 4), (65_536, 10), (1_600_000, 10)] {
            let payload = [UInt8](repeating: 7, count: size)
            let message = WebSocketMessage.binary(payload)
            #expect(message.readableBytes == size + headerLength, "payload \(size)")
            #expect(message.getInteger(at: 0, as: UInt8.self) == 0x82)
            let second = message.getInteger(at: 1, as: UInt8.self)!
            #expect(second & 0x80 == 0, "a server never masks")
            switch headerLength {
            case 2: #expect(Int(second) == size)
            case 4: #expect(second == 126 && message.getInteger(at: 2, as: UInt16.self).map(Int.init) == size)
            default: #expect(second == 127 && message.getInteger(at: 2, as: UInt64.self).map(Int.init) == size)
            }
            #expect(message.getBytes(at: headerLength, length: size) == payload)
        }
    }

    @Test func aBatchSendsOnlyWhatAConsumerHasNotSeen() {
        let messages = (5...8).map { seq in (seq: Int64(seq), message: ByteBuffer(bytes: [UInt8(seq)])) }
        let batch = FirehoseBatch(messages)
        #expect(batch.joined == ByteBuffer(bytes: [5, 6, 7, 8]))
        #expect(batch.after(0).count == 4 && batch.after(4).bytes == ByteBuffer(bytes: [5, 6, 7, 8]))
        #expect(batch.after(6).count == 2 && batch.after(6).bytes == ByteBuffer(bytes: [7, 8]))
        #expect(batch.after(8).count == 0 && batch.after(8).bytes.readableBytes == 0)
    }
}

/// How a live consumer's socket is written.
@Suite("Firehose connection writes")
struct FirehoseConnectionWriteTests {
    /// Counts what reaches the socket (it sits between the connection's
    /// writer and the head of the pipeline).
    final class SocketCounter: ChannelOutboundHandler {
        typealias OutboundIn = ByteBuffer
        var writes = 0
        var flushes = 0

        func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
            writes += 1
            context.write(data, promise: promise)
        }

        func flush(context: ChannelHandlerContext) {
            flushes += 1
            context.flush()
        }
    }

    static func batch(_ seqs: ClosedRange<Int64>) -> FirehoseBatch {
        FirehoseBatch(seqs.map { (seq: $0, message: ByteBuffer(bytes: [UInt8($0)])) })
    }

    @Test func batchesHandedOverWhileTheLoopIsBusyGoOutInOneFlush() throws {
        let channel = EmbeddedChannel()
        let connection = try FirehoseConnection.attach(to: channel, bufferSize: 100)
        let counter = SocketCounter()
        try channel.pipeline.syncOperations.addHandler(counter, position: .first)
        #expect(connection.goLive(after: 0))

        // Three batches arrive before the event loop runs: one flush.
        for range in [Int64(1)...2, 3...3, 4...6] { #expect(connection.offer(Self.batch(range))) }
        #expect(counter.flushes == 0)
        channel.embeddedEventLoop.run()
        #expect(counter.flushes == 1 && counter.writes == 3)

        // The next batch, after the loop ran, is a write of its own; a seq
        // already sent is not sent again.
        #expect(connection.offer(Self.batch(6...7)))
        channel.embeddedEventLoop.run()
        #expect(counter.flushes == 2 && counter.writes == 4)

        var sent: [UInt8] = []
        while let buffer = try channel.readOutbound(as: ByteBuffer.self) { sent += buffer.readableBytesView }
        #expect(sent == [1, 2, 3, 4, 5, 6, 7])
    }

    @Test func eventsWaitingForTheLoopCountAgainstTheBuffer() throws {
        let channel = EmbeddedChannel()
        let connection = try FirehoseConnection.attach(to: channel, bufferSize: 4)
        #expect(connection.goLive(after: 0))
        #expect(connection.offer(Self.batch(1...3)))
        // Not yet written: 3 + 2 events would pass the buffer of 4.
        #expect(!connection.offer(Self.batch(4...5)))
        channel.embeddedEventLoop.run()
        var sent: [UInt8] = []
        while let buffer = try channel.readOutbound(as: ByteBuffer.self) { sent += buffer.readableBytesView }
        #expect(Array(sent.prefix(3)) == [1, 2, 3], "what was taken is still sent, then the error frame")
        #expect(sent.count > 3 && sent[3] == 0x82)
    }
}
