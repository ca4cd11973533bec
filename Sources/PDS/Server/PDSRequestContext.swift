import Hummingbird
import HummingbirdWebSocket
import Logging
import NIOCore

/// Per-request state: Hummingbird's core context (logger with request id,
/// route parameters) and the client's address.
public struct PDSRequestContext: RequestContext, WebSocketRequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The peer's IP address, when known.
    public let remoteAddress: String?
    /// The connection (after a WebSocket upgrade, its socket: the firehose
    /// writes its messages straight to it).
    public let channel: any Channel
    /// Where a WebSocket route (`subscribeRepos`) leaves its handler.
    public let webSocket: WebSocketHandlerReference<Self>
    /// Largest body a handler collects, in bytes.
    public var maxUploadSize: Int { 5 * 1024 * 1024 }

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.remoteAddress = source.channel.remoteAddress?.ipAddress
        self.channel = source.channel
        self.webSocket = .init()
    }
}
