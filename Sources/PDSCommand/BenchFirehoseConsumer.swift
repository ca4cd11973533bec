import ATProto
import Foundation
import NIOCore
import NIOPosix
import Sequencer
import Synchronization

/// A `subscribeRepos` consumer for the firehose benchmark that costs the
/// machine as little as a relay's reader would: a raw TCP connection, the
/// WebSocket handshake written by hand, and frames counted from their
/// headers as bytes arrive (one handler, no per-frame task or allocation).
/// Only the timed consumers decode frames, to match them to acknowledged
/// writes. The server and this load share two cores, so a heavy client
/// would measure the client.
final class BenchFirehoseConsumer: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// What one consumer saw, readable from any thread.
    final class Stats: Sendable {
        let received = Atomic<Int>(0)
        let cutOff = Atomic<Bool>(false)
        let connected = Atomic<Bool>(false)
        let arrivals = Mutex<[(key: String, at: ContinuousClock.Instant)]>([])
    }

    private let stats: Stats
    private let timed: Bool
    private let path: String
    private let host: String
    private var buffer = ByteBuffer()
    private var upgraded = false

    init(stats: Stats, timed: Bool, host: String, path: String) {
        self.stats = stats
        self.timed = timed
        self.host = host
        self.path = path
    }

    /// Connects one consumer to `host:port` and `path` (with the query).
    static func connect(
        group: any EventLoopGroup, host: String, port: Int, path: String, timed: Bool, stats: Stats
    ) -> EventLoopFuture<any Channel> {
        ClientBootstrap(group: group)
            .channelOption(.socketOption(.so_reuseaddr), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        BenchFirehoseConsumer(stats: stats, timed: timed, host: "\(host):\(port)", path: path))
                }
            }
            .connect(host: host, port: port)
    }

    func channelActive(context: ChannelHandlerContext) {
        let key = Data((0..<16).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
        let request =
            "GET \(path) HTTP/1.1\r\nHost: \(host)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Key: \(key)\r\nSec-WebSocket-Version: 13\r\n\r\n"
        context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: request)), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        buffer.writeBuffer(&incoming)
        if !upgraded {
            guard let end = buffer.readableBytesView.firstRange(of: Array("\r\n\r\n".utf8)) else { return }
            let headLength = end.upperBound - buffer.readerIndex
            let head = buffer.readString(length: headLength) ?? ""
            guard head.hasPrefix("HTTP/1.1 101") else {
                context.close(promise: nil)
                return
            }
            upgraded = true
            stats.connected.store(true, ordering: .relaxed)
        }
        readFrames(context: context)
        buffer.discardReadBytes()
    }

    /// Consumes every whole frame in the buffer.
    private func readFrames(context: ChannelHandlerContext) {
        while buffer.readableBytes >= 2 {
            let start = buffer.readerIndex
            let first = buffer.getInteger(at: start, as: UInt8.self)!
            let second = buffer.getInteger(at: start + 1, as: UInt8.self)!
            var headerLength = 2
            var length = Int(second & 0x7f)
            if length == 126 {
                guard let extended = buffer.getInteger(at: start + 2, as: UInt16.self) else { return }
                length = Int(extended)
                headerLength = 4
            } else if length == 127 {
                guard let extended = buffer.getInteger(at: start + 2, as: UInt64.self) else { return }
                length = Int(extended)
                headerLength = 10
            }
            guard buffer.readableBytes >= headerLength + length else { return }
            let payloadStart = start + headerLength
            switch first & 0x0f {
            case 0x2:
                // A frame header that is a one-entry map is `{op: -1}`: an error.
                if length > 0 && buffer.getInteger(at: payloadStart, as: UInt8.self) == 0xa1 {
                    stats.cutOff.store(true, ordering: .relaxed)
                } else {
                    stats.received.add(1, ordering: .relaxed)
                    if timed { noteArrival(payloadStart: payloadStart, length: length) }
                }
            case 0x9:
                // Ping: answer with a masked pong carrying the same payload.
                var pong = ByteBuffer()
                pong.writeInteger(UInt8(0x8a))
                pong.writeInteger(UInt8(0x80 | UInt8(min(length, 125))))
                pong.writeInteger(UInt32(0))  // mask key 0: the payload is unchanged
                if let payload = buffer.getSlice(at: payloadStart, length: min(length, 125)) { pong.writeImmutableBuffer(payload) }
                context.writeAndFlush(wrapOutboundOut(pong), promise: nil)
            case 0x8:
                context.close(promise: nil)
            default:
                break
            }
            buffer.moveReaderIndex(forwardBy: headerLength + length)
        }
    }

    private func noteArrival(payloadStart: Int, length: Int) {
        guard let bytes = buffer.getBytes(at: payloadStart, length: length),
            let (header, body) = try? Frames.decode(bytes), header["t"] == "#commit",
            let repo = body["repo"]?.stringValue, let rev = body["rev"]?.stringValue
        else { return }
        let now = ContinuousClock.now
        stats.arrivals.withLock { $0.append((repo + " " + rev, now)) }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
