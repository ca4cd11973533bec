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
        if !upgraded {
            buffer.writeBuffer(&incoming)
            guard let end = buffer.readableBytesView.firstRange(of: Array("\r\n\r\n".utf8)) else { return }
            let headLength = end.upperBound - buffer.readerIndex
            let head = buffer.readString(length: headLength) ?? ""
            guard head.hasPrefix("HTTP/1.1 101") else {
                context.close(promise: nil)
                return
            }
            upgraded = true
            stats.connected.store(true, ordering: .relaxed)
            incoming = buffer
            buffer = ByteBuffer()
        }
        // Frames are read where they arrived; only a frame split across two
        // reads is copied (a copy of every byte would cost the machine as
        // much as the server's fan-out).
        if buffer.readableBytes > 0 {
            guard completePendingFrame(from: &incoming) else { return }
            readFrames(context: context, from: &buffer)
            buffer.clear()
        }
        readFrames(context: context, from: &incoming)
        if incoming.readableBytes > 0 { buffer.writeBuffer(&incoming) }
    }

    /// Moves bytes of `incoming` into `buffer` until it holds the whole
    /// frame begun there. - Returns: false when `incoming` ran out first.
    private func completePendingFrame(from incoming: inout ByteBuffer) -> Bool {
        while true {
            if let size = Self.frameSize(buffer) {
                let missing = size.header + size.payload - buffer.readableBytes
                guard var part = incoming.readSlice(length: missing) else {
                    buffer.writeBuffer(&incoming)
                    return false
                }
                buffer.writeBuffer(&part)
                return true
            }
            // The frame's header itself is split: take one more byte.
            guard var byte = incoming.readSlice(length: 1) else { return false }
            buffer.writeBuffer(&byte)
        }
    }

    /// The header and payload lengths of the frame at the start of `bytes`,
    /// or nil while its header is incomplete.
    private static func frameSize(_ bytes: ByteBuffer) -> (header: Int, payload: Int)? {
        let start = bytes.readerIndex
        guard let second = bytes.getInteger(at: start + 1, as: UInt8.self) else { return nil }
        switch second & 0x7f {
        case 126: return bytes.getInteger(at: start + 2, as: UInt16.self).map { (4, Int($0)) }
        case 127: return bytes.getInteger(at: start + 2, as: UInt64.self).map { (10, Int($0)) }
        case let length: return (2, Int(length))
        }
    }

    /// Consumes every whole frame at the start of `bytes`.
    private func readFrames(context: ChannelHandlerContext, from bytes: inout ByteBuffer) {
        while let (headerLength, payloadLength) = Self.frameSize(bytes), bytes.readableBytes >= headerLength + payloadLength {
            let start = bytes.readerIndex
            let first = bytes.getInteger(at: start, as: UInt8.self)!
            let payloadStart = start + headerLength
            switch first & 0x0f {
            case 0x2:
                // A frame header that is a one-entry map is `{op: -1}`: an error.
                if payloadLength > 0 && bytes.getInteger(at: payloadStart, as: UInt8.self) == 0xa1 {
                    stats.cutOff.store(true, ordering: .relaxed)
                } else {
                    stats.received.add(1, ordering: .relaxed)
                    if timed { noteArrival(bytes.getBytes(at: payloadStart, length: payloadLength)) }
                }
            case 0x9:
                // Ping: answer with a masked pong carrying the same payload.
                var pong = ByteBuffer()
                pong.writeInteger(UInt8(0x8a))
                pong.writeInteger(UInt8(0x80 | UInt8(min(payloadLength, 125))))
                pong.writeInteger(UInt32(0))  // mask key 0: the payload is unchanged
                if let payload = bytes.getSlice(at: payloadStart, length: min(payloadLength, 125)) {
                    pong.writeImmutableBuffer(payload)
                }
                context.writeAndFlush(wrapOutboundOut(pong), promise: nil)
            case 0x8:
                context.close(promise: nil)
            default:
                break
            }
            bytes.moveReaderIndex(forwardBy: headerLength + payloadLength)
        }
    }

    private func noteArrival(_ bytes: [UInt8]?) {
        guard let bytes,
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
