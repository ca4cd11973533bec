import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// Outbound HTTP for identity work and proxying: every request's host is
/// checked against the `OutboundPolicy` first, redirects are not followed
/// (a redirect could point anywhere), bodies are capped and requests time
/// out.
///
/// A checked name is connected to at the address the check saw (a client
/// for that one request, with a DNS override that keeps the name for TLS),
/// so a DNS answer that changes between check and connection (rebinding)
/// cannot lead the request to a private address. Hosts the policy exempts
/// (the operator's own services) share one pooled client.
public struct GuardedHTTPClient: Sendable {
    /// The process-wide client for exempt hosts: one connection pool,
    /// redirects off, never shut down (like `HTTPClient.shared`).
    public static let sharedClient: HTTPClient = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration())

    static func configuration(pinning host: String? = nil, to address: IPAddress? = nil) -> HTTPClient.Configuration {
        var configuration = HTTPClient.Configuration(redirectConfiguration: .disallow)
        configuration.timeout = .init(connect: .seconds(3), read: .seconds(30))
        if let host, let address { configuration.dnsOverride = [host: address.description] }
        return configuration
    }

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

        public init(status: Int, headers: HTTPHeaders, body: [UInt8]) {
            self.status = status
            self.headers = headers
            self.body = body
        }
    }

    /// Sends `request` after the address check, waiting at most `timeout`
    /// and reading at most `maxBytes` of the body.
    public func send(_ request: HTTPClientRequest, timeout: Duration = .seconds(10), maxBytes: Int = 1 << 20)
        async throws(IdentityError) -> Reply
    {
        guard let url = URL(string: request.url) else { throw .unreachable("invalid URL \(request.url)") }
        let pinned = try await policy.admittedAddress(url: url)
        do {
            guard let pinned, let host = url.host else { return try await perform(request, on: client, timeout: timeout, maxBytes: maxBytes) }
            let oneRequest = HTTPClient(eventLoopGroupProvider: .singleton, configuration: Self.configuration(pinning: host, to: pinned))
            do {
                let reply = try await perform(request, on: oneRequest, timeout: timeout, maxBytes: maxBytes)
                try? await oneRequest.shutdown()
                return reply
            } catch {
                try? await oneRequest.shutdown()
                throw error
            }
        } catch let error as IdentityError {
            throw error
        } catch let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout || error == .connectTimeout {
            throw .unreachable("\(url.host ?? "") timed out")
        } catch {
            throw .unreachable("\(url.host ?? ""): \(error)")
        }
    }

    private func perform(_ request: HTTPClientRequest, on client: HTTPClient, timeout: Duration, maxBytes: Int) async throws -> Reply {
        let response = try await client.execute(request, timeout: .milliseconds(Int64(timeout / .milliseconds(1))))
        let body = try await response.body.collect(upTo: maxBytes)
        return Reply(status: Int(response.status.code), headers: response.headers, body: Array(buffer: body))
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
