import ATProto
import FeedGen
import HTTPTypes
import PDS

/// An error of the dashboard API, answered as `{"error": name, "message": ...}`
/// with its HTTP status (and `Retry-After` for 429).
struct DashboardError: Error, Sendable {
    let status: HTTPResponse.Status
    let name: String
    let message: String
    var retryAfter: Int?

    init(_ status: HTTPResponse.Status, _ name: String, _ message: String, retryAfter: Int? = nil) {
        self.status = status
        self.name = name
        self.message = message
        self.retryAfter = retryAfter
    }

    static func badRequest(_ message: String) -> DashboardError { DashboardError(.badRequest, "InvalidRequest", message) }
    static func unauthorized(_ name: String, _ message: String) -> DashboardError {
        DashboardError(.unauthorized, name, message)
    }
    static func forbidden(_ message: String) -> DashboardError { DashboardError(.forbidden, "Forbidden", message) }
    static func notFound(_ name: String, _ message: String) -> DashboardError { DashboardError(.notFound, name, message) }
    static func conflict(_ name: String, _ message: String) -> DashboardError { DashboardError(.conflict, name, message) }

    /// The dashboard form of an error thrown by the PDS or the feed generator.
    static func from(_ error: any Error) -> DashboardError? {
        switch error {
        case let error as DashboardError: return error
        case let error as XRPCError:
            if error.status == .tooManyRequests {
                let wait = error.headers[.retryAfter].flatMap { Int($0) }
                return DashboardError(.tooManyRequests, "RateLimitExceeded", error.message, retryAfter: wait)
            }
            return DashboardError(error.status, error.name, error.message)
        case let error as FeedGenError:
            return DashboardError(HTTPResponse.Status(code: error.status), error.name, error.message)
        default: return nil
        }
    }
}
