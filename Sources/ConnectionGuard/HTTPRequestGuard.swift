import NIOCore
import NIOHTTP1

/// Sits right after the HTTP/1 decoder and tells ``ConnectionGuardHandler``
/// where each request's head and end fall and when each answer is done.
/// A request the decoder cannot parse is answered through the connection
/// guard (straight to the socket) and the connection closed: Hummingbird's
/// own answer half-closes the socket and then waits for the client to
/// close, which a hostile client never does.
///
/// A request asking for an upgrade (WebSocket) is followed, once read, by
/// anything: if the upgrade goes ahead, NIO removes the decoder and hands
/// the bytes it still held to this handler as they are, not as request
/// parts. So from the end of such a request everything is passed on
/// untouched, for good after an answer `101`, and until the answer's head
/// otherwise.
final class HTTPRequestGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private enum Mode {
        /// Inbound and outbound carry HTTP parts, reported to the guard.
        case tracking
        /// An upgrade request has been read: inbound may be raw bytes.
        case upgradeRequested
        /// Upgraded: frames both ways.
        case upgraded
        /// The request could not be parsed: nothing more is read.
        case rejected
    }

    private let connection: ConnectionGuardHandler
    private var mode = Mode.tracking
    private var asksForUpgrade = false

    init(connection: ConnectionGuardHandler) {
        self.connection = connection
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch mode {
        case .upgradeRequested, .upgraded: return context.fireChannelRead(data)
        case .rejected: return
        case .tracking: break
        }
        switch unwrapInboundIn(data) {
        case .head(let head):
            asksForUpgrade = head.headers.contains(name: "upgrade")
            connection.requestHeadReceived()
        case .body:
            break
        case .end:
            connection.requestEndReceived()
            if asksForUpgrade { mode = .upgradeRequested }
        }
        context.fireChannelRead(data)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let parseError = error as? HTTPParserError else {
            context.fireErrorCaught(error)
            return
        }
        // One answer per connection: the decoder may report more errors
        // for the bytes after the first bad one, or for the request it was
        // reading when the connection closed.
        guard mode != .rejected else { return }
        mode = .rejected
        if parseError == .headerOverflow {
            connection.requestRejected(.headerTooLarge, status: "431 Request Header Fields Too Large")
        } else {
            connection.requestRejected(.malformed, status: "400 Bad Request")
        }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if mode == .upgraded { return context.write(data, promise: promise) }
        switch unwrapOutboundIn(data) {
        case .head(let head):
            let upgrade = head.status == .switchingProtocols
            // The upgrade was refused or not attempted: parts again.
            if mode == .upgradeRequested { mode = upgrade ? .upgraded : .tracking }
            connection.answerHeadSent(upgrade: upgrade)
        case .body:
            break
        case .end:
            connection.answerEndSent()
        }
        context.write(data, promise: promise)
    }
}
