import Foundation
import HTTPTypes

/// An XRPC error: an HTTP status and the body `{"error": name, "message": …}`
/// that atproto clients read.
public struct XRPCError: Error, Sendable, CustomStringConvertible {
    public let status: HTTPResponse.Status
    public let name: String
    public let message: String
    /// Extra headers (e.g. `Retry-After` on rate limits).
    public var headers: HTTPFields = [:]

    public init(_ status: HTTPResponse.Status, _ name: String, _ message: String) {
        self.status = status
        self.name = name
        self.message = message
    }

    public var description: String { "\(status.code) \(name): \(message)" }

    public static func invalidRequest(_ message: String) -> XRPCError { XRPCError(.badRequest, "InvalidRequest", message) }
    public static func authRequired(_ message: String = "Authentication Required") -> XRPCError {
        XRPCError(.unauthorized, "AuthRequired", message)
    }
    public static func invalidToken(_ message: String = "Token could not be verified") -> XRPCError {
        XRPCError(.unauthorized, "InvalidToken", message)
    }
    public static func expiredToken(_ message: String = "Token has expired") -> XRPCError {
        XRPCError(.badRequest, "ExpiredToken", message)
    }
    public static func forbidden(_ message: String) -> XRPCError { XRPCError(.forbidden, "Forbidden", message) }
    public static func notFound(_ name: String, _ message: String) -> XRPCError { XRPCError(.badRequest, name, message) }
    public static func notImplemented(_ method: String) -> XRPCError {
        XRPCError(.notImplemented, "MethodNotImplemented", "Method Not Implemented: \(method)")
    }
    public static func rateLimited(retryAfter seconds: Int) -> XRPCError {
        var error = XRPCError(.tooManyRequests, "RateLimitExceeded", "Rate Limit Exceeded; try again in \(seconds) s")
        error.headers[.retryAfter] = String(seconds)
        return error
    }
    public static func internalError(_ message: String = "Internal Server Error") -> XRPCError {
        XRPCError(.internalServerError, "InternalServerError", message)
    }
}
