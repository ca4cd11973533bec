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
    /// How a host name becomes addresses (`getaddrinfo` unless a test gives another).
    public typealias Resolver = @Sendable (String) async throws(IdentityError) -> [IPAddress]

    /// Allows loopback, private, link-local and other non-public addresses.
    public var allowPrivate: Bool
    /// `host:port` pairs allowed whatever they resolve to (e.g. `127.0.0.1:2582`).
    public var allowedHostPorts: Set<String>
    /// Non-public addresses allowed all the same (a private service's).
    public var allowedAddresses: Set<IPAddress>
    private let resolver: Resolver

    public init(
        allowPrivate: Bool = false, allowedHostPorts: Set<String> = [], allowedAddresses: Set<IPAddress> = [],
        resolver: @escaping Resolver = { host throws(IdentityError) in try await OutboundPolicy.resolve(host) }
    ) {
        self.allowPrivate = allowPrivate
        self.allowedHostPorts = allowedHostPorts
        self.allowedAddresses = allowedAddresses
        self.resolver = resolver
    }

    public static func == (a: OutboundPolicy, b: OutboundPolicy) -> Bool {
        a.allowPrivate == b.allowPrivate && a.allowedHostPorts == b.allowedHostPorts && a.allowedAddresses == b.allowedAddresses
    }

    /// Checks that `host` may be reached on `port`: resolves it (off the
    /// cooperative thread pool) and refuses if any address is not public.
    public func check(host: String, port: Int) async throws(IdentityError) {
        _ = try await admittedAddress(host: host, port: port)
    }

    /// Checks `host` as ``check(host:port:)`` does and returns the checked
    /// address to connect to, so that a second resolution (which a DNS
    /// rebinding attack could answer differently) never happens; nil when
    /// the host needs no check (allowed by the policy, or a literal address).
    public func admittedAddress(host rawHost: String, port: Int) async throws(IdentityError) -> IPAddress? {
        let host = rawHost.hasPrefix("[") && rawHost.hasSuffix("]") ? String(rawHost.dropFirst().dropLast()) : rawHost
        if allowPrivate || allowedHostPorts.contains("\(host.lowercased()):\(port)") || allowedHostPorts.contains("[\(host.lowercased())]:\(port)") {
            return nil
        }
        let literal = IPAddress(host)
        let addresses: [IPAddress]
        if let literal {
            addresses = [literal]
        } else {
            addresses = try await resolver(host)
        }
        guard let first = addresses.first else { throw .unreachable("\(host) has no address") }
        for address in addresses where !address.isPublic && !allowedAddresses.contains(address) {
            throw .forbiddenAddress(host: host, address: address.description)
        }
        return literal == nil ? first : nil
    }

    /// Checks the host and port of an `http`/`https` URL.
    public func check(url: URL) async throws(IdentityError) {
        _ = try await admittedAddress(url: url)
    }

    /// ``admittedAddress(host:port:)`` for an `http`/`https` URL.
    public func admittedAddress(url: URL) async throws(IdentityError) -> IPAddress? {
        guard let scheme = url.scheme?.lowercased(), scheme == "https" || scheme == "http", let host = url.host, !host.isEmpty else {
            throw .unreachable("not an http(s) URL: \(url.absoluteString)")
        }
        return try await admittedAddress(host: host, port: url.port ?? (scheme == "https" ? 443 : 80))
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
