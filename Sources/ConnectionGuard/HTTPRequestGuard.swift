import NIOCore
import NIOHTTP1

/// Sits right after the HTTP/1 decoder and tells ``ConnectionGuardHandler``
/// where each request's head and end fall and when its answer is done.
/// A request the decoder cannot parse is answered here (through the
/// connection guard, straight to the socket) and the connection closed:
/// Hummingbird's own answer half-closes the socket and then waits for the
/// client to close, which a hostile client never does.
///
/// After a WebSocket upgrade (an answer `101`) it passes everything on
/// untouched: the pipeline carries frames from then on.
final class HTTPRequestGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private let connection: ConnectionGuardHandler
    private var rejected = false
    private var upgraded = false

    init(connection: ConnectionGuardHandler) {
        self.connection = connection
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if upgraded { return context.fireChannelRead(data) }
        guard !rejected else { return }
        switch unwrapInboundIn(data) {
        case .head: connection.requestHeadReceived()
        case .body: break
        case .end: connection.requestEndReceived()
        }
        context.fireChannelRead(data)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let parseError = error as? HTTPParserError else {
            context.fireErrorCaught(error)
            return
        }
        // One answer per connection: the decoder may report more errors
        // for the bytes after the first bad one.
        guard !rejected else { return }
        rejected = true
        if parseError == .headerOverflow {
            connection.requestRejected(.headerTooLarge, status: "431 Request Header Fields Too Large")
        } else {
            connection.requestRejected(.malformed, status: "400 Bad Request")
        }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if upgraded { return context.write(data, promise: promise) }
        switch unwrapOutboundIn(data) {
        case .head(let head):
            upgraded = head.status == .switchingProtocols
            connection.answerHeadSent(upgrade: upgraded)
            context.write(data, promise: promise)
        case .body:
            context.write(data, promise: promise)
        case .end:
            context.write(data, promise: promise)
            connection.answerEndSent()
        }
    }
}
