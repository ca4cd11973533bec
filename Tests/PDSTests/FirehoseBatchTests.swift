import NIOCore
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
