import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Which hosts outbound requests built from user-supplied names (DIDs,
/// handles, service endpoints) may reach: by default only public unicast
/// addresses. Every address a name resolves to is checked, so a name that
/// resolves to both a public and a private address is refused.
///
/// Tests and private deployments allow their loopback doubles either all at
/// once (`allowPrivate`) or one `host:port` at a time (`allowedHostPorts`).
public struct OutboundPolicy: Sendable, Equatable {
    /// Allows loopback, private, link-local and other non-public addresses.
    public var allowPrivate: Bool
    /// `host:port` pairs allowed whatever they resolve to (e.g. `127.0.0.1:2582`).
    public var allowedHostPorts: Set<String>

    public init(allowPrivate: Bool = false, allowedHostPorts: Set<String> = []) {
        self.allowPrivate = allowPrivate
        self.allowedHostPorts = allowedHostPorts
    }

    /// Checks that `host` may be reached on `port`: resolves it (off the
    /// cooperative thread pool) and refuses if any address is not public.
    public func check(host rawHost: String, port: Int) async throws(IdentityError) {
        let host = rawHost.hasPrefix("[") && rawHost.hasSuffix("]") ? String(rawHost.dropFirst().dropLast()) : rawHost
        if allowPrivate || allowedHostPorts.contains("\(host.lowercased()):\(port)") || allowedHostPorts.contains("[\(host.lowercased())]:\(port)") {
            return
        }
        let addresses = try await Self.resolve(host)
        guard !addresses.isEmpty else { throw .unreachable("\(host) has no address") }
        for address in addresses where !address.isPublic {
            throw .forbiddenAddress(host: host, address: address.description)
        }
    }

    /// Checks the host and port of an `http`/`https` URL.
    public func check(url: URL) async throws(IdentityError) {
        guard let scheme = url.scheme?.lowercased(), scheme == "https" || scheme == "http", let host = url.host, !host.isEmpty else {
            throw .unreachable("not an http(s) URL: \(url.absoluteString)")
        }
        try await check(host: host, port: url.port ?? (scheme == "https" ? 443 : 80))
    }

    /// The addresses of `host` (a literal address resolves to itself), by
    /// `getaddrinfo` on a Dispatch thread.
    public static func resolve(_ host: String) async throws(IdentityError) -> [IPAddress] {
        if let literal = IPAddress(host) { return [literal] }
        let result: Result<[IPAddress], IdentityError> = await withCheckedContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(returning: getaddrinfoAddresses(host)) }
        }
        return try result.get()
    }

    private static func getaddrinfoAddresses(_ host: String) -> Result<[IPAddress], IdentityError> {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        #if canImport(Glibc)
            hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        #else
            hints.ai_socktype = SOCK_STREAM
        #endif
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, nil, &hints, &list)
        guard status == 0 else { return .failure(.dns("cannot resolve \(host): \(String(cString: gai_strerror(status)))")) }
        defer { freeaddrinfo(list) }
        var addresses: [IPAddress] = []
        var cursor = list
        while let info = cursor {
            if let sa = info.pointee.ai_addr {
                if info.pointee.ai_family == AF_INET {
                    let bytes = sa.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { pointer in
                        withUnsafeBytes(of: pointer.pointee.sin_addr) { Array($0) }
                    }
                    addresses.append(.v4(bytes))
                } else if info.pointee.ai_family == AF_INET6 {
                    let bytes = sa.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { pointer in
                        withUnsafeBytes(of: pointer.pointee.sin6_addr) { Array($0) }
                    }
                    addresses.append(.v6(bytes))
                }
            }
            cursor = info.pointee.ai_next
        }
        return .success(addresses)
    }
}
