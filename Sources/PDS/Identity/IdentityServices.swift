import Foundation
import Identity

/// The outbound side of identity, built from the configuration: which hosts
/// may be contacted, the HTTP client for that, and the DID and handle
/// resolvers.
public struct IdentityServices: Sendable {
    public let policy: OutboundPolicy
    public let http: GuardedHTTPClient
    public let dids: DIDResolver
    public let handles: HandleResolver
    /// The DNS TXT client of handle and Lexicon resolution (nil when no
    /// nameserver is known).
    public let dns: DNSTXTResolver?

    init(config: PDSConfig) {
        // The operator's own services are allowed whatever they resolve to.
        var allowed = Set(config.outboundAllowList.map { $0.lowercased() })
        for url in [config.resolvedPLCDirectoryURL, config.appViewURL, config.reportServiceURL].compactMap({ $0 }) {
            if let parsed = URL(string: url), let host = parsed.host?.lowercased() {
                allowed.insert("\(host):\(parsed.port ?? (parsed.scheme == "http" ? 80 : 443))")
            }
        }
        policy = OutboundPolicy(allowPrivate: config.allowPrivateOutbound, allowedHostPorts: allowed)
        http = GuardedHTTPClient(policy: policy)
        dids = DIDResolver(configuration: .init(plcDirectoryURL: config.resolvedPLCDirectoryURL, policy: policy), http: http)
        var dns: DNSTXTResolver? = DNSTXTResolver.systemNameserver().map { DNSTXTResolver(server: $0) }
        if let server = config.handleDNSServer {
            dns = IdentityServices.nameserver(server)
        }
        self.dns = dns
        handles = HandleResolver(configuration: .init(dns: dns, policy: policy))
    }

    /// `ip`, `ip:port` or `[ipv6]:port` as a resolver.
    static func nameserver(_ text: String) -> DNSTXTResolver? {
        if IPAddress(text) != nil { return DNSTXTResolver(server: text) }
        if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
            let host = String(text[text.index(after: text.startIndex)..<close])
            let port = UInt16(text[text.index(after: close)...].dropFirst()) ?? 53
            return DNSTXTResolver(server: host, port: port)
        }
        let parts = text.split(separator: ":")
        guard parts.count == 2, let port = UInt16(parts[1]) else { return nil }
        return DNSTXTResolver(server: String(parts[0]), port: port)
    }
}
