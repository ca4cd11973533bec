import Logging
import NIOCore

/// The first handler of a connection's pipeline, next to the socket: it
/// admits the connection (``ConnectionRegistry``), keeps its one timer, and
/// closes it when a timeout or limit of ``ConnectionLimits`` is passed,
/// answering with a bare HTTP status where the client is still owed one.
///
/// It sees bytes, not requests: ``HTTPRequestGuard``, placed after the HTTP
/// decoder, tells it where each request's head and end fall and when each
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
        /// A head has come; its body is being read (at a minimum pace).
        case body
        /// Every request is read; answers are being written.
        case answering
        /// A WebSocket now: its pings, not this guard, find dead peers.
        case upgraded
        /// The server has said its last (`Connection: close`, or a refusal):
        /// whatever the client sends is dropped until the socket closes.
        case closing
        case closed
    }

    /// What the connection's one timer does when it fires.
    private enum Deadline {
        case head, idle, bodyPace
        /// The client has had its time to close after the server's last word.
        case linger
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
    /// Requests whose head has come and whose answer has not ended
    /// (more than one when a client pipelines).
    private var inFlight = 0
    /// Whether the latest request's body is still being read.
    private var readingBody = false
    /// Whether an answer's head has gone out and its end not yet: no bare
    /// status may be written into it then.
    private var answerStarted = false
    /// Bytes of the request line seen so far while it has no end (the
    /// URL's length is judged from it); nil once it ended.
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
        // A refused connection is closed already: nothing after it hears of it.
        guard phase != .closed else { return }
        context.fireChannelActive()
    }

    private func start(_ context: ChannelHandlerContext) {
        address = ClientAddressKey.of(context.channel.remoteAddress?.ipAddress ?? "unknown")
        if let refusal = registry.admit(address) {
            events.note(refusal == .tooMany ? .tooManyConnections : .tooManyFromAddress, address: address)
            phase = .closed
            context.close(promise: nil)
            return
        }
        admitted = true
        schedule(after: limits.headerTimeout, .head)
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
            if !newConnection { schedule(after: limits.headerTimeout, .head) }
            if !checkRequestLine(bytes) { return }
        case .head:
            if !checkRequestLine(bytes) { return }
        case .body:
            windowBytes += bytes.readableBytes
        case .answering, .upgraded:
            break
        case .closing, .closed:
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
        let length: Int
        if let newline = bytes.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) {
            requestLineBytes = nil
            length = seen + (newline - bytes.readerIndex)
        } else {
            length = seen + bytes.readableBytes
            requestLineBytes = length
        }
        if length <= limits.maxURLBytes + Self.requestLineOverhead { return true }
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
        guard isTracking else { return }
        inFlight += 1
        readingBody = true
        phase = .body
        windowBytes = 0
        windowWaited = .zero
        schedule(after: limits.bodyRateWindow, .bodyPace)
    }

    func requestEndReceived() {
        guard isTracking, readingBody else { return }
        readingBody = false
        if inFlight == 0 {
            // Its answer went out before the body was all read.
            awaitNextRequest()
        } else {
            phase = .answering
            cancelTimer()
        }
    }

    func answerHeadSent(upgrade: Bool) {
        answerStarted = true
        guard upgrade, isTracking else { return }
        phase = .upgraded
        cancelTimer()
    }

    func answerEndSent() {
        answerStarted = false
        guard isTracking else { return }
        inFlight = max(0, inFlight - 1)
        // With a body still arriving (an answer given early) the rest is
        // drained at the body's pace before the connection waits again.
        if inFlight == 0 && !readingBody { awaitNextRequest() }
    }

    /// While requests and answers are what the timers follow.
    private var isTracking: Bool {
        switch phase {
        case .upgraded, .closing, .closed: return false
        default: return true
        }
    }

    private func awaitNextRequest() {
        phase = .waiting(newConnection: false)
        schedule(after: limits.idleTimeout, .idle)
    }

    /// The HTTP decoder refused the request: answered with `status` unless
    /// an answer is already on its way, then closed.
    func requestRejected(_ event: ConnectionEvent, status: String) {
        refuse(event, status: status)
    }

    // MARK: - Outbound

    func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        guard mode == .output, phase != .closed else {
            context.close(mode: mode, promise: promise)
            return
        }
        // Hummingbird half-closes after `Connection: close` and waits for
        // the client to close its side; a client that never does would hold
        // the socket forever. The half-close waits for the answer's pending
        // bytes: the client's time to close starts once they are out, and
        // until then the write-stall timeout is the bound (armed here too,
        // since a small pending answer never makes the channel unwritable).
        phase = .closing
        cancelTimer()
        armStallTimer()
        let closed = context.eventLoop.makePromise(of: Void.self)
        closed.futureResult.assumeIsolated().whenComplete { [self] result in
            promise?.completeWith(result)
            if case .success = result, phase == .closing { schedule(after: limits.closeLinger, .linger) }
        }
        context.close(mode: .output, promise: closed)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable && phase != .closing {
            stallTimer?.cancel()
            stallTimer = nil
        } else if !context.channel.isWritable {
            armStallTimer()
        }
        context.fireChannelWritabilityChanged()
    }

    private func armStallTimer() {
        guard stallTimer == nil, let context else { return }
        stallTimer = context.eventLoop.assumeIsolated().scheduleTask(in: limits.writeStallTimeout) { [self] in
            stallTimer = nil
            events.note(.writeStalled, address: address)
            close()
        }
    }

    // MARK: - Timer

    // One deadline at a time, and one timer that is never further away
    // than ``maxTimerDistance``: moving the deadline then needs no timer
    // work unless it comes nearer than the timer (a keep-alive request's
    // phases, each pushing its deadline out, cost no scheduling at all;
    // cancelling and scheduling a timer at each phase cost getRecord ~18%
    // of its rate). An idle connection's timer wakes every 10 s and
    // re-arms.

    private var deadline: (at: NIODeadline, action: Deadline)?
    private var timerAt: NIODeadline?
    private var maxTimerDistance: TimeAmount { min(limits.headerTimeout, limits.bodyRateWindow) }

    private func cancelTimer() {
        deadline = nil
    }

    private func schedule(after delay: TimeAmount, _ action: Deadline) {
        let at = NIODeadline.now() + delay
        deadline = (at, action)
        if let timerAt, timerAt <= at { return }
        arm(at: min(at, .now() + maxTimerDistance))
    }

    private func arm(at: NIODeadline) {
        guard let context else { return }
        timer?.cancel()
        timerAt = at
        timer = context.eventLoop.assumeIsolated().scheduleTask(deadline: at) { [self] in
            timer = nil
            timerAt = nil
            guard let deadline else { return }
            let now = NIODeadline.now()
            if now < deadline.at {
                arm(at: min(deadline.at, now + maxTimerDistance))
            } else {
                self.deadline = nil
                fired(deadline.action)
            }
        }
    }

    private func fired(_ deadline: Deadline) {
        switch deadline {
        case .head:
            refuse(.headerTimeout, status: "408 Request Timeout")
        case .bodyPace:
            checkBodyPace()
        case .idle:
            events.note(.idleTimeout, address: address)
            close()
        case .linger:
            events.note(.lingerTimeout, address: address)
            close()
        }
    }

    /// At the end of each window: bytes received against time spent
    /// waiting for them. A window the server spent mostly not reading is
    /// no evidence either way.
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
        schedule(after: limits.bodyRateWindow, .bodyPace)
    }

    // MARK: - Closing

    /// Answers `status` with no body, straight to the socket, and closes:
    /// once the answer is out, or after the linger time if it cannot get
    /// out. With an answer already under way only closes (a bare status in
    /// its middle would corrupt it).
    private func refuse(_ event: ConnectionEvent, status: String) {
        guard let context, phase != .closed, phase != .closing else { return }
        events.note(event, address: address)
        guard !answerStarted else { return close() }
        phase = .closing
        let response = "HTTP/1.1 \(status)\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
        let buffer = context.channel.allocator.buffer(string: response)
        schedule(after: limits.closeLinger, .linger)
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

/// The key a client address is counted under: the address itself for
/// IPv4, its /64 for IPv6 (one subscriber usually holds a whole /64, so
/// counting single IPv6 addresses would let one client pass every
/// per-address limit by rotating through its own).
public enum ClientAddressKey {
    public static func of(_ address: String) -> String {
        guard address.contains(":") else { return address }
        var groups = address.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        // Expand a `::` to the zero groups it stands for.
        if let gap = groups.firstIndex(of: ""), address.contains("::") {
            let present = groups.filter { !$0.isEmpty }.count
            groups.removeAll { $0.isEmpty }
            groups.insert(contentsOf: Array(repeating: "0", count: max(0, 8 - present)), at: min(gap, groups.count))
        }
        // An IPv4-mapped address (`::ffff:203.0.113.5`) is an IPv4 client.
        if let last = groups.last, last.contains(".") { return last }
        let prefix = groups.prefix(4).map { String(Int($0, radix: 16) ?? 0, radix: 16) }
        return prefix.joined(separator: ":") + "::/64"
    }
}
