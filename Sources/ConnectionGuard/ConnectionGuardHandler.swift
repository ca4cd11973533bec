import Logging
import NIOCore

/// The first handler of a connection's pipeline, next to the socket: it
/// admits the connection (``ConnectionRegistry``), keeps its one timer, and
/// closes it when a timeout or limit of ``ConnectionLimits`` is passed,
/// answering with a bare HTTP status where the client is still owed one.
///
/// It sees bytes, not requests: ``HTTPRequestGuard``, placed after the HTTP
/// decoder, tells it where each request's head and end fall and when the
/// answer is done, so that this handler knows which timeout applies.
final class ConnectionGuardHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = IOData
    typealias OutboundOut = IOData

    /// Where the connection is in its request/answer cycle, and so which
    /// timeout applies.
    enum Phase: Equatable {
        /// No byte of a request yet: a new connection (header timeout from
        /// its start) or a kept-alive one (idle timeout).
        case waiting(newConnection: Bool)
        /// Bytes of a request's head have come; its end has not.
        case head
        /// The head has come; the body is being read.
        case body
        /// The request is read; the answer is being written.
        case answering
        /// A WebSocket now: its pings, not this guard, find dead peers.
        case upgraded
        case closed
    }

    private let limits: ConnectionLimits
    private let registry: ConnectionRegistry
    private let events: ConnectionEventLog
    private var context: ChannelHandlerContext?
    private var address = "unknown"
    private var admitted = false
    private(set) var phase = Phase.waiting(newConnection: true)
    private var timer: Scheduled<Void>?
    private var stallTimer: Scheduled<Void>?
    /// Whether an answer's head has gone out and its end not yet.
    private var answerStarted = false
    private var answerEnded = false
    private var requestEnded = false
    /// Bytes of the request line seen so far while it has no end (the
    /// URL's length is judged from it).
    private var requestLineBytes: Int? = 0

    // The body's pace, over the current window: bytes received, and time
    // spent waiting for the client (from a read the server asked for to the
    // bytes' arrival).
    private var windowBytes = 0
    private var windowWaited: TimeAmount = .zero
    private var waitingSince: NIODeadline?

    init(limits: ConnectionLimits, registry: ConnectionRegistry, events: ConnectionEventLog) {
        self.limits = limits
        self.registry = registry
        self.events = events
    }

    // MARK: - Lifecycle

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if context.channel.isActive { start(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        if !admitted && phase != .closed { start(context) }
        context.fireChannelActive()
    }

    private func start(_ context: ChannelHandlerContext) {
        address = context.channel.remoteAddress?.ipAddress ?? "unknown"
        if let refusal = registry.admit(address) {
            events.note(refusal == .tooMany ? .tooManyConnections : .tooManyFromAddress, address: address)
            phase = .closed
            context.close(promise: nil)
            return
        }
        admitted = true
        schedule(after: limits.headerTimeout, .headerTimeout)
    }

    func channelInactive(context: ChannelHandlerContext) {
        finish()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        finish()
        self.context = nil
    }

    private func finish() {
        phase = .closed
        timer?.cancel()
        stallTimer?.cancel()
        timer = nil
        stallTimer = nil
        if admitted {
            admitted = false
            registry.release(address)
        }
    }

    // MARK: - Inbound bytes

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let bytes = unwrapInboundIn(data)
        switch phase {
        case .waiting(let newConnection):
            phase = .head
            requestLineBytes = 0
            // A new connection's header deadline runs from its start.
            if !newConnection { schedule(after: limits.headerTimeout, .headerTimeout) }
            if !checkRequestLine(bytes) { return }
        case .head:
            if !checkRequestLine(bytes) { return }
        case .body:
            windowBytes += bytes.readableBytes
        case .answering, .upgraded:
            break
        case .closed:
            return
        }
        if let since = waitingSince {
            windowWaited = windowWaited + (NIODeadline.now() - since)
            waitingSince = nil
        }
        context.fireChannelRead(data)
    }

    /// Measures the request line; false (and the connection answered 414
    /// and closed) when it is longer than a URL may be.
    private func checkRequestLine(_ bytes: ByteBuffer) -> Bool {
        guard let seen = requestLineBytes else { return true }
        if let newline = bytes.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) {
            requestLineBytes = nil
            if seen + (newline - bytes.readerIndex) <= limits.maxURLBytes + Self.requestLineOverhead { return true }
        } else {
            requestLineBytes = seen + bytes.readableBytes
            if requestLineBytes! <= limits.maxURLBytes + Self.requestLineOverhead { return true }
        }
        refuse(.urlTooLong, status: "414 URI Too Long")
        return false
    }

    /// The request line's bytes besides the URL: a method (`OPTIONS` is
    /// the longest), two spaces, `HTTP/1.1` and CR.
    static let requestLineOverhead = 20

    func read(context: ChannelHandlerContext) {
        // The server wants bytes: from now until they come, a slow body is
        // the client's doing.
        if waitingSince == nil { waitingSince = .now() }
        context.read()
    }

    // MARK: - What HTTPRequestGuard reports

    func requestHeadReceived() {
        guard phase != .closed, phase != .upgraded else { return }
        phase = .body
        requestEnded = false
        answerEnded = false
        windowBytes = 0
        windowWaited = .zero
        schedule(after: limits.bodyRateWindow, .bodyTooSlow)
    }

    func requestEndReceived() {
        guard phase == .body else { return }
        requestEnded = true
        if answerEnded {
            awaitNextRequest()
        } else {
            phase = .answering
            cancelTimer()
        }
    }

    func answerHeadSent(upgrade: Bool) {
        answerStarted = true
        if upgrade {
            phase = .upgraded
            cancelTimer()
        }
    }

    func answerEndSent() {
        answerStarted = false
        answerEnded = true
        // An answer given before the whole body was read: the rest is still
        // drained, at the body's pace, before the connection waits again.
        if phase == .answering { awaitNextRequest() }
    }

    private func awaitNextRequest() {
        phase = .waiting(newConnection: false)
        schedule(after: limits.idleTimeout, .idleTimeout)
    }

    /// The HTTP decoder refused the request: answered with `status` unless
    /// an answer is already on its way, then closed.
    func requestRejected(_ event: ConnectionEvent, status: String) {
        // The decoder also reports the request it was reading when the
        // connection closed: nothing more to say then.
        guard phase != .closed else { return }
        if answerStarted {
            events.note(event, address: address)
            close()
        } else {
            refuse(event, status: status)
        }
    }

    // MARK: - Outbound

    func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        if mode == .output && phase != .closed {
            // Hummingbird half-closes after `Connection: close` and waits
            // for the client to close its side; a client that never does
            // would hold the socket forever.
            schedule(after: limits.closeLinger, .lingerTimeout)
        }
        context.close(mode: mode, promise: promise)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable {
            stallTimer?.cancel()
            stallTimer = nil
        } else if stallTimer == nil {
            stallTimer = context.eventLoop.assumeIsolated().scheduleTask(in: limits.writeStallTimeout) { [self] in
                stallTimer = nil
                events.note(.writeStalled, address: address)
                close()
            }
        }
        context.fireChannelWritabilityChanged()
    }

    // MARK: - Timer

    private func cancelTimer() {
        timer?.cancel()
        timer = nil
    }

    private func schedule(after delay: TimeAmount, _ event: ConnectionEvent) {
        cancelTimer()
        guard let context else { return }
        timer = context.eventLoop.assumeIsolated().scheduleTask(in: delay) { [self] in
            timer = nil
            fired(event)
        }
    }

    private func fired(_ event: ConnectionEvent) {
        switch event {
        case .headerTimeout:
            refuse(.headerTimeout, status: "408 Request Timeout")
        case .bodyTooSlow:
            checkBodyPace()
        case .idleTimeout, .lingerTimeout:
            events.note(event, address: address)
            close()
        default:
            close()
        }
    }

    /// At the end of each window: bytes received against time spent
    /// waiting for them. A window the server spent not reading is no
    /// evidence either way.
    private func checkBodyPace() {
        guard phase == .body else { return }
        var waited = windowWaited
        if let since = waitingSince {
            waited = waited + (NIODeadline.now() - since)
            waitingSince = .now()
        }
        let waitedSeconds = Double(waited.nanoseconds) / 1e9
        let windowSeconds = Double(limits.bodyRateWindow.nanoseconds) / 1e9
        if waitedSeconds >= windowSeconds / 2
            && Double(windowBytes) < Double(limits.minimumBodyBytesPerSecond) * waitedSeconds
        {
            refuse(.bodyTooSlow, status: "408 Request Timeout")
            return
        }
        windowBytes = 0
        windowWaited = .zero
        schedule(after: limits.bodyRateWindow, .bodyTooSlow)
    }

    // MARK: - Closing

    /// Answers `status` with no body, straight to the socket, and closes.
    private func refuse(_ event: ConnectionEvent, status: String) {
        guard let context, phase != .closed else { return }
        events.note(event, address: address)
        phase = .closed
        cancelTimer()
        let response = "HTTP/1.1 \(status)\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
        let buffer = context.channel.allocator.buffer(string: response)
        context.writeAndFlush(wrapOutboundOut(.byteBuffer(buffer))).assumeIsolated().whenComplete { [self] _ in
            close()
        }
    }

    private func close() {
        phase = .closed
        cancelTimer()
        context?.close(mode: .all, promise: nil)
    }
}
