import NIOCore

/// The timeouts and limits every HTTP connection is held to.
///
/// Before these, a half-sent request, a malformed request line, an idle
/// keep-alive socket or a request with a 100 KB header stayed open forever,
/// and ~20,000 of them from one client filled the file table. The defaults
/// follow common servers' (nginx: 60 s to read a header or a body chunk,
/// 75 s keep-alive; Node: 60 s for a header), tightened where a PDS's
/// traffic allows: its requests are small and its clients are apps,
/// relays and AppViews, none of which sends a header slowly.
public struct ConnectionLimits: Sendable, Equatable {
    /// From a connection's start, or a kept-alive connection's first byte
    /// of a request, to the end of the request's head. Then `408`.
    public var headerTimeout: TimeAmount = .seconds(10)
    /// How long a kept-alive connection may wait for its next request.
    public var idleTimeout: TimeAmount = .seconds(60)
    /// The slowest a request body may arrive, in bytes per second, over
    /// each ``bodyRateWindow`` of waiting for the client (time the server
    /// itself is not reading does not count). Then `408`.
    public var minimumBodyBytesPerSecond: Int = 1024
    public var bodyRateWindow: TimeAmount = .seconds(10)
    /// How long a connection may stay unwritable (the client reads nothing
    /// of the answer) before it is closed.
    public var writeStallTimeout: TimeAmount = .seconds(60)
    /// How long a connection whose answer said `Connection: close` waits
    /// for the client to close before it is closed from this side.
    public var closeLinger: TimeAmount = .seconds(2)
    /// Longest request target (path and query), in bytes. Then `414`.
    public var maxURLBytes: Int = 8 * 1024
    /// Longest header field, and all header fields together, in bytes. Then `431`.
    public var maxHeaderFieldBytes: Int = 16 * 1024
    public var maxHeaderBytes: Int = 32 * 1024
    /// Most header fields in one request. Then `431`.
    public var maxHeaderCount: Int = 100
    /// Most connections open at once from one address; nil for none
    /// (behind a trusted proxy every connection comes from the proxy).
    public var maxConnectionsPerAddress: Int? = 256
    /// Most connections open at once: by default the file descriptors the
    /// process may open less ``reservedFileDescriptors``.
    public var maxConnections: Int?
    /// File descriptors kept for the databases, blobs, the listener and
    /// outbound requests when the connection cap is derived.
    public var reservedFileDescriptors: Int = 256

    public init() {}
}
