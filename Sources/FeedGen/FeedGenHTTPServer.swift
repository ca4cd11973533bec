import ATProto
import ConnectionGuard
import Foundation
import Hummingbird
import Logging
import NIOCore

/// The standalone server of `pds feedgen serve`: `getFeedSkeleton`,
/// `describeFeedGenerator`, the DID document of a `did:web` feed generator
/// and a health check, with the background work as a service.
public enum FeedGenHTTPServer {
    /// Builds the application; `onListening` receives the bound port.
    public static func application(
        generator: FeedGenerator, onListening: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        let router = Router()
        router.get("/xrpc/app.bsky.feed.getFeedSkeleton") { request, _ in
            let params = request.uri.queryParameters
            return await respond {
                try await generator.getFeedSkeleton(
                    feed: params["feed"].map(String.init), limit: params["limit"].map(String.init),
                    cursor: params["cursor"].map(String.init), authorization: request.headers[.authorization])
            }
        }
        router.get("/xrpc/app.bsky.feed.describeFeedGenerator") { _, _ in
            await respond { try await generator.describeFeedGenerator() }
        }
        router.get("/xrpc/_health") { _, _ in json(["version": "feedgen"]) }
        router.get("/.well-known/did.json") { _, _ in
            guard generator.did.method == "web" else {
                return json(["error": "NotFound", "message": "the feed generator's DID is not a did:web"], status: .notFound)
            }
            return json(["@context": ["https://www.w3.org/ns/did/v1"], "id": .string(generator.did.string), "service": [generator.didDocumentService]])
        }
        return Application(
            router: router,
            server: ConnectionGuard(limits: ConnectionLimits(), logger: generator.logger).http1(),
            configuration: .init(address: .hostname(generator.config.bindAddress, port: generator.config.port), serverName: "atrarium-feedgen"),
            services: [FeedGenBackgroundService(generator: generator, local: nil)],
            onServerRunning: { channel in await onListening(channel.localAddress?.port ?? generator.config.port) },
            logger: generator.logger)
    }

    static func respond(_ body: () async throws -> DataValue) async -> Response {
        do {
            return json(try await body())
        } catch let error as FeedGenError {
            return json(["error": .string(error.name), "message": .string(error.message)], status: .init(code: error.status))
        } catch {
            return json(["error": "InternalServerError", "message": "Internal Server Error"], status: .internalServerError)
        }
    }

    static func json(_ value: DataValue, status: HTTPResponse.Status = .ok) -> Response {
        Response(
            status: status, headers: [.contentType: "application/json; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(bytes: ATProtoJSON.encode(value))))
    }
}
