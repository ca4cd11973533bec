import ATProto
import ConnectionGuard
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// One XRPC call as a handler sees it: the method, its query parameters,
/// its body (read once) and the services of the server.
public final class XRPCCall {
    public let method: String
    public let request: Request
    public let context: PDSRequestContext
    public let services: PDSServices
    private var bodyTaken = false
    /// Headers added to the answer, success or error (the next DPoP nonce).
    var extraHeaders: HTTPFields = [:]
    /// The query string, parsed on first use (Hummingbird parses it anew on
    /// every access).
    private lazy var query = request.uri.queryParameters

    init(method: String, request: Request, context: PDSRequestContext, services: PDSServices) {
        self.method = method
        self.request = request
        self.context = context
        self.services = services
    }

    // MARK: - Parameters

    /// A query parameter, or nil.
    public func param(_ name: String) -> String? {
        query[Substring(name)].map { String($0) }
    }

    /// Every value of a repeated query parameter (`?cids=a&cids=b`).
    public func params(_ name: String) -> [String] {
        query.getAll(name).map { String($0) }
    }

    /// A query parameter that must be present.
    public func requiredParam(_ name: String) throws(XRPCError) -> String {
        guard let value = param(name), !value.isEmpty else {
            throw .invalidRequest("Error: Params must have the property \"\(name)\"")
        }
        return value
    }

    /// An integer parameter within `range`, or `defaultValue` when absent.
    public func intParam(_ name: String, default defaultValue: Int, range: ClosedRange<Int>) throws(XRPCError) -> Int {
        guard let raw = param(name) else { return defaultValue }
        guard let value = Int(raw), range.contains(value) else {
            throw .invalidRequest("Error: \(name) must be an integer between \(range.lowerBound) and \(range.upperBound)")
        }
        return value
    }

    /// A boolean parameter, or `defaultValue`.
    public func boolParam(_ name: String, default defaultValue: Bool) throws(XRPCError) -> Bool {
        guard let raw = param(name) else { return defaultValue }
        switch raw {
        case "true", "1": return true
        case "false", "0": return false
        default: throw .invalidRequest("Error: \(name) must be a boolean")
        }
    }

    // MARK: - Body

    /// The whole body, up to `limit` bytes.
    public func bodyBytes(limit: Int) async throws -> ByteBuffer {
        guard !bodyTaken else { throw XRPCError.internalError("the request body was read twice") }
        bodyTaken = true
        if let length = request.headers[.contentLength].flatMap(Int.init), length > limit {
            throw XRPCError(.contentTooLarge, "PayloadTooLarge", "request body is larger than \(limit) bytes")
        }
        do {
            return try await request.body.collect(upTo: limit)
        } catch {
            throw XRPCError(.contentTooLarge, "PayloadTooLarge", "request body is larger than \(limit) bytes")
        }
    }

    /// The body as an atproto JSON object.
    public func jsonBody() async throws -> DataMap {
        let buffer = try await bodyBytes(limit: services.config.maxRequestBody)
        guard buffer.readableBytes > 0 else { throw XRPCError.invalidRequest("Request body is required") }
        let bytes = buffer.readableBytesView
        do {
            return try ATProtoJSON.decodeRecord(bytes)
        } catch {
            throw XRPCError.invalidRequest("Invalid JSON body: \(error)")
        }
    }

    /// The client's address, for per-IP limits, as ``ClientAddressKey``
    /// counts it (an IPv6 client by its /64). `X-Forwarded-For` counts
    /// only when the server is configured to sit behind a reverse proxy
    /// (`trustProxy`); otherwise any client could pick its own address and
    /// escape the limits. The proxy's own entry is the last one.
    public var clientAddress: String {
        context.clientAddress(of: request, config: services.config)
    }
}

extension PDSRequestContext {
    /// The client's address of `request` (see ``XRPCCall/clientAddress``),
    /// for routes outside `/xrpc/`.
    public func clientAddress(of request: Request, config: PDSConfig) -> String {
        if config.trustProxy,
            let forwarded = request.headers[HTTPField.Name("X-Forwarded-For")!]?.split(separator: ",").last
        {
            return ClientAddressKey.of(forwarded.trimmingCharacters(in: .whitespaces))
        }
        return ClientAddressKey.of(remoteAddress ?? "unknown")
    }
}

/// What a handler answers.
public enum XRPCResult {
    /// 200 with a JSON body.
    case json(DataValue)
    /// 200 with no body.
    case empty
    /// 200 with bytes of a given type.
    case bytes(contentType: String, [UInt8], headers: HTTPFields = [:])
    /// 200 with a streamed body.
    case stream(contentType: String, ResponseBody, headers: HTTPFields = [:])
    /// What an upstream service answered to a proxied call.
    case proxied(status: HTTPResponse.Status, contentType: String?, body: [UInt8], headers: HTTPFields)
}

/// Reading fields of a JSON input object with XRPC errors.
extension DataMap {
    /// A required string field.
    public func requiredString(_ key: String) throws(XRPCError) -> String {
        guard case .string(let s)? = self[key] else {
            throw .invalidRequest("Input must have the property \"\(key)\" as a string")
        }
        return s
    }

    /// An optional string field (absent or null is nil; another type is an error).
    public func optionalString(_ key: String) throws(XRPCError) -> String? {
        switch self[key] {
        case nil, .null?: return nil
        case .string(let s)?: return s
        default: throw .invalidRequest("Input/\(key) must be a string")
        }
    }

    /// An optional boolean field.
    public func optionalBool(_ key: String) throws(XRPCError) -> Bool? {
        switch self[key] {
        case nil, .null?: return nil
        case .bool(let b)?: return b
        default: throw .invalidRequest("Input/\(key) must be a boolean")
        }
    }
}
