import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// Outbound HTTP for identity work and proxying: every request's host is
/// checked against the `OutboundPolicy` first, redirects are not followed
/// (a redirect could point anywhere), bodies are capped and requests time
/// out.
///
/// Note: the check resolves the name, then the HTTP client resolves it again
/// to connect, so a DNS answer that changes in between is not caught; the
/// short TTL window is accepted here.
public struct GuardedHTTPClient: Sendable {
    /// The process-wide client these requests go through: one connection
    /// pool, redirects off, never shut down (like `HTTPClient.shared`).
    public static let sharedClient: HTTPClient = {
        var configuration = HTTPClient.Configuration(redirectConfiguration: .disallow)
        configuration.timeout = .init(connect: .seconds(3), read: .seconds(30))
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }()

    public let policy: OutboundPolicy
    public let client: HTTPClient

    public init(policy: OutboundPolicy, client: HTTPClient = GuardedHTTPClient.sharedClient) {
        self.policy = policy
        self.client = client
    }

    /// What a server answered.
    public struct Reply: Sendable {
        public let status: Int
        public let headers: HTTPHeaders
        public let body: [UInt8]
    }

    /// Sends `request` after the address check, waiting at most `timeout`
    /// and reading at most `maxBytes` of the body.
    public func send(_ request: HTTPClientRequest, timeout: Duration = .seconds(10), maxBytes: Int = 1 << 20)
        async throws(IdentityError) -> Reply
    {
        guard let url = URL(string: request.url) else { throw .unreachable("invalid URL \(request.url)") }
        try await policy.check(url: url)
        do {
            let response = try await client.execute(request, timeout: .milliseconds(Int64(timeout / .milliseconds(1))))
            let body = try await response.body.collect(upTo: maxBytes)
            return Reply(status: Int(response.status.code), headers: response.headers, body: Array(buffer: body))
        } catch let error as IdentityError {
            throw error
        } catch let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout || error == .connectTimeout {
            throw .unreachable("\(url.host ?? "") timed out")
        } catch {
            throw .unreachable("\(url.host ?? ""): \(error)")
        }
    }

    /// A GET of `url` with `accept`.
    public func get(_ url: String, accept: String = "application/json", timeout: Duration = .seconds(10), maxBytes: Int = 1 << 20)
        async throws(IdentityError) -> Reply
    {
        var request = HTTPClientRequest(url: url)
        request.headers.add(name: "Accept", value: accept)
        return try await send(request, timeout: timeout, maxBytes: maxBytes)
    }
}
