import ATProto
import Foundation

/// Resolves a handle to the DID it claims: the DNS TXT record
/// `_atproto.<handle>` (`did=<DID>`) first, then
/// `https://<handle>/.well-known/atproto-did`. Either answer must be a single
/// valid DID. The HTTPS fetch goes through the outbound policy.
///
/// This is one direction only: a caller that trusts the handle must also
/// check that the DID's document names the handle (`alsoKnownAs`).
public struct HandleResolver: Sendable {
    /// Where to look.
    public struct Configuration: Sendable {
        /// The DNS server for TXT queries; nil skips DNS.
        public var dns: DNSTXTResolver?
        /// Which hosts the HTTPS lookup may reach.
        public var policy: OutboundPolicy
        /// The well-known URL of a handle (tests map it to a loopback port).
        public var wellKnownURL: @Sendable (String) -> String
        public var timeout: Duration

        public init(
            dns: DNSTXTResolver? = DNSTXTResolver.systemNameserver().map { DNSTXTResolver(server: $0) },
            policy: OutboundPolicy = OutboundPolicy(),
            wellKnownURL: @escaping @Sendable (String) -> String = { "https://\($0)/.well-known/atproto-did" },
            timeout: Duration = .seconds(5)
        ) {
            self.dns = dns
            self.policy = policy
            self.wellKnownURL = wellKnownURL
            self.timeout = timeout
        }
    }

    public let configuration: Configuration
    private let http: GuardedHTTPClient

    public init(configuration: Configuration) {
        self.configuration = configuration
        http = GuardedHTTPClient(policy: configuration.policy)
    }

    /// The DID `handle` names.
    /// - Throws: `IdentityError.handleNotFound` when neither method answers
    ///   with a DID, `.forbiddenAddress` when the HTTPS host is not public.
    public func resolve(_ rawHandle: String) async throws(IdentityError) -> DID {
        let handle = rawHandle.lowercased()
        guard Handle.isValid(handle) else { throw .handleNotFound(rawHandle) }
        if let did = try? await resolveDNS(handle) { return did }
        return try await resolveHTTPS(handle)
    }

    /// The DID in the `_atproto.<handle>` TXT record, if exactly one.
    public func resolveDNS(_ handle: String) async throws(IdentityError) -> DID {
        guard let dns = configuration.dns else { throw .handleNotFound(handle) }
        let dids = try await dns.txt("_atproto." + handle).compactMap { record -> String? in
            guard record.hasPrefix("did=") else { return nil }
            return String(record.dropFirst(4)).trimmingCharacters(in: .whitespaces)
        }
        guard dids.count == 1, let did = dids.first.flatMap({ try? DID($0) }) else { throw .handleNotFound(handle) }
        return did
    }

    /// The DID served at the handle's well-known URL.
    public func resolveHTTPS(_ handle: String) async throws(IdentityError) -> DID {
        let reply = try await http.get(configuration.wellKnownURL(handle), accept: "text/plain", timeout: configuration.timeout, maxBytes: 2048)
        guard reply.status == 200 else { throw .handleNotFound(handle) }
        let text = String(decoding: reply.body, as: UTF8.self)
        let line = text.split(whereSeparator: \.isNewline).first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
        guard let did = try? DID(line) else { throw .handleNotFound(handle) }
        return did
    }
}
