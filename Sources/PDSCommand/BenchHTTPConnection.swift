import Foundation
import NIOCore
import NIOPosix

/// One keep-alive HTTP/1.1 connection for the load of `pds bench`: a
/// request is bytes written as they are, the answer its status and body
/// (`Content-Length` framed, as the server sends JSON). Like wrk, it leaves
/// the CPU to the server it measures; a general client (AsyncHTTPClient,
/// with a JSON decode of every answer) took as much CPU as the server.
final class BenchHTTPConnection: Sendable {
    /// A request that failed or got an answer this client cannot read.
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    private let channel: any Channel
    private let handler: NIOLoopBound<ResponseReader>
    let host: String

    private init(channel: any Channel, handler: NIOLoopBound<ResponseReader>, host: String) {
        self.channel = channel
        self.handler = handler
        self.host = host
    }

    static func connect(host: String, port: Int) async throws -> BenchHTTPConnection {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelOption(.socketOption(.so_reuseaddr), value: 1)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ResponseReader())
                }
            }
            .connect(host: host, port: port).get()
        let handler = try await channel.eventLoop.submit {
            NIOLoopBound(try channel.pipeline.syncOperations.handler(type: ResponseReader.self), eventLoop: channel.eventLoop)
        }.get()
        return BenchHTTPConnection(channel: channel, handler: handler, host: "\(host):\(port)")
    }

    /// The bytes of a request (JSON body when given).
    func request(_ method: String, _ path: String, json body: [UInt8]? = nil, token: String? = nil) -> ByteBuffer {
        request(method, path, body: body, contentType: "application/json", token: token)
    }

    /// A request with a JSON body and an OAuth access token and its DPoP proof.
    func request(_ method: String, _ path: String, json body: [UInt8], dpopToken: String, proof: String) -> ByteBuffer {
        request(method, path, body: body, contentType: "application/json", headers: ["Authorization: DPoP \(dpopToken)", "DPoP: \(proof)"])
    }

    /// The bytes of a request with a body of any type (a blob upload).
    func request(_ method: String, _ path: String, body: [UInt8]?, contentType: String, token: String? = nil, headers: [String] = [])
        -> ByteBuffer
    {
        var head = "\(method) \(path) HTTP/1.1\r\nHost: \(host)\r\n"
        if let token { head += "Authorization: Bearer \(token)\r\n" }
        for header in headers { head += header + "\r\n" }
        if let body { head += "Content-Type: \(contentType)\r\nContent-Length: \(body.count)\r\n" }
        head += "\r\n"
        var buffer = ByteBuffer(string: head)
        if let body { buffer.writeBytes(body) }
        return buffer
    }

    /// Sends `request` and waits for the whole answer.
    func send(_ request: ByteBuffer) async throws -> (status: Int, body: ByteBuffer) {
        let handler = handler, channel = channel
        return try await channel.eventLoop.flatSubmit {
            let promise = channel.eventLoop.makePromise(of: (status: Int, body: ByteBuffer).self)
            handler.value.expect(promise)
            channel.writeAndFlush(request, promise: nil)
            return promise.futureResult
        }.get()
    }

    /// Sends requests back to back for `seconds`, each as soon as the
    /// previous answer is read, all on the connection's event loop (no
    /// thread hop per request, as in wrk).
    /// - Parameters:
    ///   - next: the `n`th request.
    ///   - check: whether an answer is right; a wrong one ends the load.
    /// - Returns: the latency of every request, in milliseconds.
    func drive(
        seconds: Double, next: @escaping @Sendable (Int) -> ByteBuffer,
        check: @escaping @Sendable (Int, ByteBuffer) -> String?
    ) async throws -> [Double] {
        let handler = handler, channel = channel
        return try await channel.eventLoop.flatSubmit {
            let loop = LoadLoop(
                channel: channel, reader: handler.value, deadline: .now() + .nanoseconds(Int64(seconds * 1e9)), next: next, check: check)
            loop.sendNext()
            return loop.done.futureResult
        }.get()
    }

    /// The state of one ``drive(seconds:next:check:)``, confined to the
    /// connection's event loop.
    private final class LoadLoop {
        let channel: any Channel
        let reader: ResponseReader
        let deadline: NIODeadline
        let next: @Sendable (Int) -> ByteBuffer
        let check: @Sendable (Int, ByteBuffer) -> String?
        let done: EventLoopPromise<[Double]>
        var latencies: [Double] = []
        var n = 0

        init(
            channel: any Channel, reader: ResponseReader, deadline: NIODeadline, next: @escaping @Sendable (Int) -> ByteBuffer,
            check: @escaping @Sendable (Int, ByteBuffer) -> String?
        ) {
            self.channel = channel
            self.reader = reader
            self.deadline = deadline
            self.next = next
            self.check = check
            done = channel.eventLoop.makePromise()
        }

        func sendNext() {
            let answer = channel.eventLoop.makePromise(of: (status: Int, body: ByteBuffer).self)
            reader.expect(answer)
            let sentAt = NIODeadline.now()
            channel.writeAndFlush(next(n), promise: nil)
            n += 1
            answer.futureResult.assumeIsolated().whenComplete { result in
                switch result {
                case .success(let (status, body)):
                    self.latencies.append(Double((NIODeadline.now() - sentAt).nanoseconds) / 1e6)
                    if let problem = self.check(status, body) {
                        self.done.fail(Failure(description: problem))
                    } else if NIODeadline.now() < self.deadline {
                        self.sendNext()
                    } else {
                        self.done.succeed(self.latencies)
                    }
                case .failure(let error):
                    self.done.fail(error)
                }
            }
        }
    }

    func close() {
        channel.close(promise: nil)
    }

    /// Reads one answer at a time off the connection.
    final class ResponseReader: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer

        private var buffer = ByteBuffer()
        private var waiting: EventLoopPromise<(status: Int, body: ByteBuffer)>?

        func expect(_ promise: EventLoopPromise<(status: Int, body: ByteBuffer)>) {
            precondition(waiting == nil, "one request at a time on a bench connection")
            waiting = promise
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var incoming = unwrapInboundIn(data)
            buffer.writeBuffer(&incoming)
            guard let promise = waiting else { return }
            guard let headLength = buffer.offset(of: Self.headEnd).map({ $0 + Self.headEnd.count }) else { return }
            guard let (status, length) = Self.statusAndLength(buffer.readableBytesView.prefix(headLength)) else {
                waiting = nil
                let head = String(buffer: buffer.getSlice(at: buffer.readerIndex, length: min(200, headLength)) ?? ByteBuffer())
                promise.fail(Failure(description: "unreadable answer: \(head)"))
                context.close(promise: nil)
                return
            }
            guard buffer.readableBytes >= headLength + length else { return }
            buffer.moveReaderIndex(forwardBy: headLength)
            let body = buffer.readSlice(length: length)!
            buffer.discardReadBytes()
            waiting = nil
            promise.succeed((status, body))
        }

        static let headEnd: [UInt8] = Array("\r\n\r\n".utf8)
        static let contentLength: [UInt8] = Array("content-length:".utf8)

        /// The status code and `Content-Length` of a response head, read
        /// byte by byte (the load generator must stay cheap).
        static func statusAndLength(_ head: ByteBufferView) -> (Int, Int)? {
            let bytes = Array(head)
            // "HTTP/1.1 200 ..."
            guard bytes.count >= 12 else { return nil }
            var status = 0
            for byte in bytes[9..<12] {
                guard (48...57).contains(byte) else { return nil }
                status = status * 10 + Int(byte - 48)
            }
            // Each line start: compare "content-length:" case-insensitively.
            var i = 0
            while i < bytes.count {
                guard let lineEnd = bytes[i...].firstIndex(of: 10) else { break }
                let line = bytes[(lineEnd + 1)...]
                if line.count >= contentLength.count, zip(line, contentLength).allSatisfy({ $0 | 0x20 == $1 | 0x20 }) {
                    var length = 0, seen = false
                    for byte in line.dropFirst(contentLength.count) {
                        if byte == 32 && !seen { continue }
                        guard (48...57).contains(byte) else { break }
                        length = length * 10 + Int(byte - 48)
                        seen = true
                    }
                    return seen ? (status, length) : nil
                }
                i = lineEnd + 1
            }
            return nil
        }

        func channelInactive(context: ChannelHandlerContext) {
            waiting?.fail(Failure(description: "the server closed the connection"))
            waiting = nil
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            waiting?.fail(error)
            waiting = nil
            context.close(promise: nil)
        }
    }
}

extension ByteBuffer {
    /// Whether the bytes contain `needle` (a cheap check of a JSON answer).
    func contains(_ needle: String) -> Bool {
        offset(of: Array(needle.utf8)) != nil
    }

    /// Where `needle` first occurs in the readable bytes, from the reader
    /// index (a plain scan: Foundation's generic search took a third of the
    /// load generator's time).
    func offset(of needle: [UInt8]) -> Int? {
        guard let first = needle.first else { return 0 }
        return withUnsafeReadableBytes { haystack in
            guard haystack.count >= needle.count else { return nil }
            var i = 0
            let last = haystack.count - needle.count
            while i <= last {
                if haystack[i] == first {
                    var j = 1
                    while j < needle.count && haystack[i + j] == needle[j] { j += 1 }
                    if j == needle.count { return i }
                }
                i += 1
            }
            return nil
        }
    }
}
