import ATProto
import ConnectionGuard
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import HummingbirdWebSocket
import Logging
import NIOCore

/// The HTTP server: XRPC under `/xrpc/`, the service's DID document, health
/// and robots, with CORS and a log line per request.
public enum PDSServer {
    /// Every method the server implements.
    public static func methods(extensions: [PDSExtension] = []) -> XRPCMethods {
        var methods = XRPCMethods()
        ServerMethods.register(&methods)
        RepoMethods.register(&methods)
        SyncMethods.register(&methods)
        AccountMethods.register(&methods)
        EmailMethods.register(&methods)
        AppPasswordMethods.register(&methods)
        InviteMethods.register(&methods)
        AdminMethods.register(&methods)
        BlobMethods.register(&methods)
        MigrationMethods.register(&methods)
        IdentityMethods.register(&methods)
        IdentityResolutionMethods.register(&methods)
        ServiceAuthMethods.register(&methods)
        PreferenceMethods.register(&methods)
        FeedProxy.register(&methods)
        ReadAfterWrite.register(&methods)
        for plugin in extensions { plugin.methods(&methods) }
        return methods
    }

    /// Builds the application with any `extensions`; `onListening` receives
    /// the bound port.
    public static func application(
        services: PDSServices, extensions: [PDSExtension] = [],
        onListening: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        let router = Router(context: PDSRequestContext.self)
        router.middlewares.add(RequestLogMiddleware(metrics: services.metrics))
        router.middlewares.add(ResponseCompressionMiddleware())
        router.middlewares.add(
            CORSMiddleware(
                allowOrigin: .all,
                allowHeaders: [.accept, .authorization, .contentType, .origin, HTTPField.Name("atproto-proxy")!,
                               HTTPField.Name("atproto-accept-labelers")!, HTTPField.Name("DPoP")!],
                allowMethods: [.get, .post, .put, .delete, .head, .options],
                exposedHeaders: ["atproto-repo-rev", "atproto-content-labelers", "Retry-After", "DPoP-Nonce", "WWW-Authenticate"],
                maxAge: .seconds(86_400)))

        let table = methods(extensions: extensions)
        services.metrics.knowMethods(table.names)
        MetricsEndpoint.register(on: router, services: services, extensions: extensions)
        for plugin in extensions {
            for (collection, check) in plugin.recordChecks { services.recordChecks.add(collection, check) }
        }
        router.get("/xrpc/_health") { _, _ in
            XRPCMethods.json(["version": .string(PDSInfo.version)])
        }
        router.get("/xrpc/:nsid") { request, context in
            await table.dispatch(request, context: context, services: services)
        }
        router.post("/xrpc/:nsid") { request, context in
            await table.dispatch(request, context: context, services: services)
        }
        router.head("/xrpc/:nsid") { request, context in
            await table.dispatch(request, context: context, services: services)
        }
        OAuthRoutes.register(on: router, services: services)
        router.get("/.well-known/atproto-did") { request, _ in
            await WellKnown.atprotoDID(request, services: services)
        }
        router.get("/tls-check") { request, _ in
            await WellKnown.tlsCheck(request, services: services)
        }
        router.get("/robots.txt") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/plain"],
                body: .init(byteBuffer: ByteBuffer(string: "# Hello!\n\n# Crawling the public API is allowed\nUser-agent: *\nAllow: /\n")))
        }
        router.get("/.well-known/did.json") { request, _ in
            let config = services.config
            let host = HostedDidWeb.requestHost(request)
            if host != config.hostname.lowercased() && IdentityMethods.isServed(host, config: config) {
                return await HostedDidWeb.document(for: host, services: services)
            }
            guard config.resolvedServiceDID == "did:web:\(config.hostname)" else {
                return XRPCMethods.response(for: XRPCError(.notFound, "NotFound", "this service's DID is not a did:web of its host"))
            }
            return XRPCMethods.json([
                "@context": ["https://www.w3.org/ns/did/v1"],
                "id": .string(config.resolvedServiceDID),
                "service": .array(
                    [["id": "#atproto_pds", "type": "AtprotoPersonalDataServer", "serviceEndpoint": .string(config.resolvedPublicURL)]]
                        + extensions.flatMap(\.didDocumentServices)),
            ])
        }
        for plugin in extensions { plugin.routes(router) }
        router.get("/") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/plain"],
                body: .init(byteBuffer: ByteBuffer(string: "This is an AT Protocol Personal Data Server (swift-pds \(PDSInfo.version)).\n\nMost API routes are under /xrpc/\n")))
        }

        let config = services.config
        let connectionGuard = services.connectionGuard
        let webSocketResponder = SubscribeRepos.router(services: services).buildResponder()
        let webSocketConfiguration = HTTP1WebSocketUpgradeChannel.Configuration(
            http1: .init(httpDecoderConfiguration: connectionGuard.decoderConfiguration),
            ws: .init(
                // Inbound messages are small (Jetstream `options_update`); up to 10,000 DIDs fit.
                maxFrameSize: 1 << 20,
                autoPing: .enabled(timePeriod: .seconds(max(1, config.websocketPingInterval)))))
        return Application(
            router: router,
            server: HTTPServerBuilder { responder in
                connectionGuard.wrap(
                    HTTP1WebSocketUpgradeChannel(
                        responder: responder, webSocketResponder: webSocketResponder, configuration: webSocketConfiguration))
            },
            configuration: .init(address: .hostname(config.bindAddress, port: config.port), serverName: "swift-pds"),
            services: [BlobGarbageCollector(services: services), SequencerPruner(services: services), SequencerPoller(services: services),
                       RelayCrawlNotifier(services: services), PLCSubmitter(services: services), MailDispatcher(services: services)] + extensions.flatMap(\.backgroundServices),
            onServerRunning: { channel in await onListening(channel.localAddress?.port ?? config.port) },
            logger: services.logger)
    }
}

/// Facts about this build.
public enum PDSInfo {
    public static let version = "0.1.0"
}

/// Logs one line per request with its method, path, status and duration;
/// the logger carries the request id.
struct RequestLogMiddleware: RouterMiddleware {
    typealias Context = PDSRequestContext
    let metrics: ServerMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        let response = try await next(request, context)
        let elapsed = ContinuousClock.now - start
        metrics.recordRequest(path: request.uri.path[...], status: response.status.code, elapsed: elapsed)
        let ms = Double(elapsed.components.attoseconds) / 1e15 + Double(elapsed.components.seconds) * 1000
        context.logger.info(
            "request",
            metadata: [
                "method": .string(request.method.rawValue), "path": .string(request.uri.path),
                "status": .stringConvertible(response.status.code), "ms": .string(String(format: "%.2f", ms)),
            ])
        return response
    }
}
