import ATProto
import FeedGen
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import PDS

/// The Atrarium dashboard API: JSON over HTTP under `/api`, for community
/// owners, moderators and members. Every change is a record written to the
/// acting user's own repository through the PDS's write path
/// (``LocalRepoWriter``) — or, for a user whose repository is on another
/// PDS, answered as the records that user's client must write — and the
/// feed generator's index follows through its ingest of the event log.
public struct DashboardAPI: Sendable {
    /// One route: its method, its path (Hummingbird syntax, `:name` for a
    /// parameter), which rate limit it counts against, and its handler.
    struct Route: Sendable {
        enum Access: Sendable { case open, api, feed }
        let method: HTTPRequest.Method
        let path: String
        let access: Access
        let handle: @Sendable (DashboardAPI, DashboardRequest) async throws -> DashboardAnswer
    }

    let services: PDSServices
    let generator: FeedGenerator
    let config: DashboardConfig
    let auth: DashboardAuth
    /// The feed generator's community index.
    let index: CommunityIndexStore
    let writer: LocalRepoWriter
    /// Draws a candidate community id (8 lowercase hex digits).
    let drawID: @Sendable () -> String

    /// The largest request body, in bytes.
    static let maxBody = 64 * 1024

    /// - Parameter drawID: draws candidate community ids; random by default.
    public init(
        services: PDSServices, generator: FeedGenerator, config: DashboardConfig, keyResolver: any SigningKeyResolver,
        drawID: (@Sendable () -> String)? = nil
    ) {
        self.drawID = drawID ?? { String(format: "%08x", UInt32.random(in: 0...UInt32.max)) }
        self.services = services
        self.generator = generator
        self.config = config
        auth = DashboardAuth(services: services, keyResolver: keyResolver)
        index = generator.index
        writer = LocalRepoWriter(services: services)
    }

    static let routeTable: [Route] = [
        Route(method: .get, path: "/api/openapi.json", access: .open) { api, _ in try api.openAPIDocument() },
        Route(method: .post, path: "/api/communities", access: .api) { try await $0.createCommunity($1) },
        Route(method: .get, path: "/api/communities", access: .api) { try await $0.listCommunities($1) },
        Route(method: .get, path: "/api/communities/:id", access: .api) { try await $0.getCommunity($1) },
        Route(method: .put, path: "/api/communities/:id", access: .api) { try await $0.updateCommunity($1) },
        Route(method: .post, path: "/api/communities/:id/members", access: .api) { try await $0.join($1) },
        Route(method: .get, path: "/api/communities/:id/members", access: .api) { try await $0.listMembers($1) },
        Route(method: .put, path: "/api/communities/:id/members/:did", access: .api) { try await $0.updateMember($1) },
        Route(method: .delete, path: "/api/communities/:id/members/:did", access: .api) { try await $0.removeMember($1) },
        Route(method: .get, path: "/api/communities/:id/feed", access: .feed) { try await $0.feed($1) },
        Route(method: .post, path: "/api/moderation/actions", access: .api) { try await $0.createModerationAction($1) },
        Route(method: .get, path: "/api/moderation/actions", access: .api) { try await $0.listModerationActions($1) },
    ]

    /// Every route the API serves, as `(method, path)` with `{name}`
    /// parameters as in OpenAPI.
    public static var routes: [(method: String, path: String)] {
        routeTable.map { route in
            let path = route.path.split(separator: "/", omittingEmptySubsequences: false).map { part in
                part.hasPrefix(":") ? "{\(part.dropFirst())}" : String(part)
            }.joined(separator: "/")
            return (route.method.rawValue, path)
        }
    }

    /// Adds the routes to `router`.
    public func register(on router: Router<PDSRequestContext>) {
        for route in Self.routeTable {
            router.on(RouterPath(route.path), method: route.method) { request, context in
                await self.serve(route, request: request, context: context)
            }
        }
    }

    private func serve(_ route: Route, request: Request, context: PDSRequestContext) async -> Response {
        do {
            // The server-wide per-address limit first, so guessing tokens costs too.
            let perAddress = RateLimiter.Limit(name: "ip", max: services.config.rateLimits.requestsPerFiveMinutes, window: 300)
            if let wait = services.rateLimiter.hit(perAddress, key: context.clientAddress(of: request, config: services.config)) {
                throw DashboardError(.tooManyRequests, "RateLimitExceeded", "Too many requests; try again in \(wait) s", retryAfter: wait)
            }
            var caller: DashboardCaller?
            if route.access != .open {
                let found = try await auth.caller(authorization: request.headers[.authorization])
                let limit: RateLimiter.Limit =
                    route.access == .feed
                    ? .init(name: "dashboard-feed", max: config.feedRequestsPerHour, window: 3600)
                    : .init(name: "dashboard", max: config.requestsPerHour, window: 3600)
                if let wait = services.rateLimiter.hit(limit, key: found.did.string) {
                    throw DashboardError(
                        .tooManyRequests, "RateLimitExceeded", "Too many requests; try again in \(wait) s", retryAfter: wait)
                }
                caller = found
            }
            var body: DashboardBody?
            if route.method == .post || route.method == .put {
                let bytes: ByteBuffer
                do {
                    bytes = try await request.body.collect(upTo: Self.maxBody)
                } catch {
                    throw DashboardError(.contentTooLarge, "PayloadTooLarge", "the body is larger than \(Self.maxBody) bytes")
                }
                body = try DashboardBody(bytes: Array(bytes.readableBytesView))
            }
            let call = DashboardRequest(
                caller: caller, body: body, parameters: context.parameters, query: request.uri.queryParameters)
            let answer = try await route.handle(self, call)
            return answer.response
        } catch {
            guard let failure = DashboardError.from(error) else {
                context.logger.error("dashboard: unhandled error in \(route.method) \(route.path): \(error)")
                return DashboardAnswer.error(DashboardError(.internalServerError, "InternalServerError", "Internal Server Error"))
            }
            return DashboardAnswer.error(failure)
        }
    }

    /// `GET /api/openapi.json`: the checked-in OpenAPI document.
    func openAPIDocument() throws -> DashboardAnswer {
        guard let url = Bundle.module.url(forResource: "openapi", withExtension: "json"), let data = try? Data(contentsOf: url) else {
            throw DashboardError(.internalServerError, "InternalServerError", "the OpenAPI document is missing from the build")
        }
        return DashboardAnswer(status: .ok, raw: Array(data))
    }
}

/// One call to a dashboard route, as its handler sees it.
struct DashboardRequest: Sendable {
    let caller: DashboardCaller?
    let body: DashboardBody?
    let parameters: Parameters
    let query: Parameters

    /// The authenticated caller (every route but the OpenAPI document has one).
    var user: DashboardCaller {
        get throws { guard let caller else { throw DashboardError.unauthorized("AuthenticationRequired", "authentication required") }; return caller }
    }

    /// The JSON body (POST and PUT routes).
    var json: DashboardBody {
        get throws { guard let body else { throw DashboardError.badRequest("A JSON object body is required") }; return body }
    }

    func parameter(_ name: String) -> String { parameters.get(name) ?? "" }

    func queryValue(_ name: String) -> String? { query[Substring(name)].map(String.init) }

    /// An integer query parameter within `range`, or `defaultValue`.
    func intQuery(_ name: String, default defaultValue: Int, range: ClosedRange<Int>) throws(DashboardError) -> Int {
        guard let raw = queryValue(name) else { return defaultValue }
        guard let value = Int(raw), range.contains(value) else {
            throw .badRequest("\(name) must be an integer between \(range.lowerBound) and \(range.upperBound)")
        }
        return value
    }
}

/// What a dashboard handler answers: a status and a JSON body.
struct DashboardAnswer: Sendable {
    let status: HTTPResponse.Status
    let body: [UInt8]
    var headers: HTTPFields = [:]

    init(status: HTTPResponse.Status = .ok, _ value: DataValue) {
        self.status = status
        body = ATProtoJSON.encode(value)
    }

    init(status: HTTPResponse.Status, raw: [UInt8]) {
        self.status = status
        body = raw
    }

    static func error(_ error: DashboardError) -> Response {
        var answer = DashboardAnswer(status: error.status, ["error": .string(error.name), "message": .string(error.message)])
        if let wait = error.retryAfter { answer.headers[.retryAfter] = String(wait) }
        return answer.response
    }

    var response: Response {
        var fields = headers
        fields[.contentType] = "application/json; charset=utf-8"
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }
}
