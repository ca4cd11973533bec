import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1

/// Holds every HTTP connection of a Hummingbird server to
/// ``ConnectionLimits``: header, body-pace, idle, write-stall and
/// close-linger timeouts; URL, header-size and header-count limits
/// answered `414` and `431`; malformed requests answered `400` and
/// closed; caps on connections per address and in all, below the file
/// descriptors the process may open; a (rate-limited) log line per class
/// of event.
///
/// For: the servers of `pds serve` and `pds feedgen serve`, wrapped around
/// Hummingbird's HTTP/1 (and WebSocket upgrade) child channels. Not for:
/// request-level limits (request rates per address or account, body sizes
/// per method), which the XRPC layer applies where it knows the method.
public struct ConnectionGuard: Sendable {
    public let limits: ConnectionLimits
    public let registry: ConnectionRegistry
    public let events: ConnectionEventLog

    /// Raises the process's open-file limit to its hard limit and derives
    /// the connection cap from it (unless `limits` sets one).
    public init(limits: ConnectionLimits, logger: Logger) {
        self.limits = limits
        let files = FileDescriptorLimit.raiseToHardLimit()
        let total = limits.maxConnections ?? max(64, files - limits.reservedFileDescriptors)
        registry = ConnectionRegistry(maxPerAddress: limits.maxConnectionsPerAddress, maxTotal: total)
        events = ConnectionEventLog(logger: logger)
    }

    /// The HTTP/1 decoder's limits: a header field (the URL counts as one)
    /// and all of them, and their number. Past them the decoder fails with
    /// `headerOverflow`, answered `431`.
    public var decoderConfiguration: HTTP1Channel.Configuration.DecoderConfiguration {
        .init(
            maxHeaderFieldSize: max(limits.maxHeaderFieldBytes, limits.maxURLBytes + ConnectionGuardHandler.requestLineOverhead),
            maxHeaderListSize: limits.maxHeaderBytes, maxHeaderFieldCount: limits.maxHeaderCount)
    }

    /// Hummingbird's plain HTTP/1 server, guarded.
    public func http1() -> HTTPServerBuilder {
        let decoder = decoderConfiguration
        return HTTPServerBuilder { responder in
            GuardedChildChannel(
                inner: HTTP1Channel(responder: responder, configuration: .init(httpDecoderConfiguration: decoder)), guard: self)
        }
    }

    /// Wraps any HTTP/1 child channel (such as the WebSocket upgrade one).
    public func wrap<Inner: ServerChildChannel>(_ inner: Inner) -> GuardedChildChannel<Inner> {
        GuardedChildChannel(inner: inner, guard: self)
    }
}

/// A Hummingbird child channel with ``ConnectionGuard``'s two handlers
/// added to its pipeline: one next to the socket, one right after the HTTP
/// decoder.
public struct GuardedChildChannel<Inner: ServerChildChannel>: ServerChildChannel {
    public typealias Value = Inner.Value

    let inner: Inner
    let `guard`: ConnectionGuard

    public func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        let limits = self.guard.limits
        let registry = self.guard.registry
        let events = self.guard.events
        return inner.setup(channel: channel, logger: logger).flatMapThrowing { value in
            // The inner setup has built its pipeline synchronously, on the
            // channel's event loop, before any byte was read.
            let operations = channel.pipeline.syncOperations
            let connection = ConnectionGuardHandler(limits: limits, registry: registry, events: events)
            try operations.addHandler(connection, position: .first)
            let decoder = try operations.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self)
            try operations.addHandler(HTTPRequestGuard(connection: connection), position: .after(decoder))
            return value
        }
    }

    public func handle(value: Value, logger: Logger) async {
        await inner.handle(value: value, logger: logger)
    }
}
