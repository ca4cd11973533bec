import ATProto
import Hummingbird
import ServiceLifecycle

/// Something that adds to the server without the `PDS` target knowing it:
/// extra XRPC methods (a local method always wins over proxying), extra HTTP
/// routes, background services that live as long as the server, and entries
/// for the `service` list of the service's own DID document.
///
/// The feed generator plugs into `pds serve` this way, so `PDS` does not
/// depend on `FeedGen`.
public struct PDSExtension: Sendable {
    /// Adds XRPC methods to the table (may replace a built-in one).
    public var methods: @Sendable (inout XRPCMethods) -> Void
    /// Adds routes outside `/xrpc/` (for example `/api/...`).
    public var routes: @Sendable (Router<PDSRequestContext>) -> Void
    /// Background work started and stopped with the server.
    public var backgroundServices: [any Service]
    /// `service` entries for `/.well-known/did.json` (for example `#bsky_fg`).
    public var didDocumentServices: [DataValue]
    /// Rules for records of the extension's collections that their Lexicon
    /// cannot express, by collection (see ``RecordChecks``).
    public var recordChecks: [NSID: RecordChecks.Check]
    /// Figures for `/metrics`, read at each scrape.
    public var metrics: @Sendable () async -> [MetricSample]

    public init(
        methods: @escaping @Sendable (inout XRPCMethods) -> Void = { _ in },
        routes: @escaping @Sendable (Router<PDSRequestContext>) -> Void = { _ in },
        backgroundServices: [any Service] = [],
        didDocumentServices: [DataValue] = [],
        recordChecks: [NSID: RecordChecks.Check] = [:],
        metrics: @escaping @Sendable () async -> [MetricSample] = { [] }
    ) {
        self.metrics = metrics
        self.methods = methods
        self.routes = routes
        self.backgroundServices = backgroundServices
        self.didDocumentServices = didDocumentServices
        self.recordChecks = recordChecks
    }
}
