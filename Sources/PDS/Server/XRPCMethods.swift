import ATProto
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// The XRPC methods the server implements, by NSID. Anything else answers
/// `501 MethodNotImplemented`.
public struct XRPCMethods: Sendable {
    /// GET (query) or POST (procedure).
    public enum Kind: Sendable {
        case query, procedure
    }

    public typealias Handler = @Sendable (XRPCCall) async throws -> XRPCResult

    struct Method: Sendable {
        let kind: Kind
        let handler: Handler
    }

    private(set) var table: [String: Method] = [:]

    public init() {}

    public mutating func query(_ nsid: String, _ handler: @escaping Handler) {
        table[nsid] = Method(kind: .query, handler: handler)
    }

    public mutating func procedure(_ nsid: String, _ handler: @escaping Handler) {
        table[nsid] = Method(kind: .procedure, handler: handler)
    }

    /// The names of every implemented method.
    public var names: [String] { table.keys.sorted() }

    /// Runs the method a request names and turns the result, or the error,
    /// into a response.
    func dispatch(_ request: Request, context: PDSRequestContext, services: PDSServices) async -> Response {
        let nsid = context.parameters.get("nsid") ?? ""
        do {
            // Local methods (built-in or from an extension) first; then the
            // proxy for the namespaces of other services.
            let method = table[nsid]
            if method == nil {
                guard NSID.isValid(nsid) else { throw XRPCError(.notFound, "InvalidRequest", "'\(nsid)' is not an XRPC method name") }
                guard ServiceProxy.isForwarded(nsid, request: request) else { throw XRPCError.notImplemented(nsid) }
                guard request.method == .get || request.method == .head || request.method == .post else {
                    throw XRPCError.invalidRequest("XRPC requests only support GET and POST")
                }
            }
            if let method {
                switch (method.kind, request.method) {
                case (.query, .get), (.query, .head), (.procedure, .post): break
                default:
                    throw XRPCError.invalidRequest("Incorrect HTTP method (\(request.method)) for \(nsid): use \(method.kind == .query ? "GET" : "POST")")
                }
            }
            let limits = services.config.rateLimits
            let call = XRPCCall(method: nsid, request: request, context: context, services: services)
            if let wait = services.rateLimiter.hit(
                .init(name: "ip", max: limits.requestsPerFiveMinutes, window: 300), key: call.clientAddress)
            {
                throw XRPCError.rateLimited(retryAfter: wait)
            }
            do {
                var response =
                    if let method { try await XRPCMethods.response(for: method.handler(call)) } else {
                        try await XRPCMethods.response(for: ServiceProxy.handle(call))
                    }
                response.headers.append(contentsOf: call.extraHeaders)
                return response
            } catch var error as XRPCError {
                for field in call.extraHeaders where error.headers[field.name] == nil { error.headers.append(field) }
                throw error
            }
        } catch let error as XRPCError {
            return XRPCMethods.response(for: error)
        } catch where StorageFull.matches(error) {
            context.logger.error("disk full: \(nsid) refused", metadata: ["error": "\(error)"])
            return XRPCMethods.response(for: StorageFull.error)
        } catch {
            context.logger.error("unhandled error in \(nsid): \(error)")
            return XRPCMethods.response(for: XRPCError.internalError())
        }
    }

    /// The `Content-Type` of JSON answers.
    static let jsonContentType = "application/json; charset=utf-8"

    static func json(_ value: DataValue, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        var fields = headers
        fields[.contentType] = jsonContentType
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: ATProtoJSON.encode(value))))
    }

    static func response(for result: XRPCResult) -> Response {
        switch result {
        case .json(let value):
            return json(value)
        case .empty:
            return Response(status: .ok)
        case .bytes(let contentType, let bytes, var headers):
            headers[.contentType] = contentType
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
        case .stream(let contentType, let body, var headers):
            headers[.contentType] = contentType
            return Response(status: .ok, headers: headers, body: body)
        case .proxied(let status, let contentType, let body, var headers):
            if let contentType { headers[.contentType] = contentType }
            return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
        }
    }

    static func response(for error: XRPCError) -> Response {
        json(["error": .string(error.name), "message": .string(error.message)], status: error.status, headers: error.headers)
    }
}
