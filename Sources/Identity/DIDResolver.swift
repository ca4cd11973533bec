import ATCrypto
import ATProto
import Foundation

/// Resolves `did:plc` (through a PLC directory) and `did:web` (through
/// `https://<host>/.well-known/did.json`) DIDs to their documents, with a
/// cache: a document is reused for `cacheTTL` unless the caller asks for
/// `forceRefresh` (for example after a signature failed to verify with the
/// cached key).
public actor DIDResolver {
    /// Where and how to resolve.
    public struct Configuration: Sendable {
        /// Base URL of the PLC directory (`https://plc.directory`); nil
        /// makes did:plc unresolvable.
        public var plcDirectoryURL: String?
        /// Which hosts may be contacted.
        public var policy: OutboundPolicy
        /// How long a resolved document is reused.
        public var cacheTTL: Duration
        /// Longest wait for one fetch.
        public var timeout: Duration

        public init(
            plcDirectoryURL: String? = "https://plc.directory", policy: OutboundPolicy = OutboundPolicy(),
            cacheTTL: Duration = .seconds(3600), timeout: Duration = .seconds(10)
        ) {
            self.plcDirectoryURL = plcDirectoryURL
            self.policy = policy
            self.cacheTTL = cacheTTL
            self.timeout = timeout
        }
    }

    public let configuration: Configuration
    private let http: GuardedHTTPClient
    private var cache: [DID: (document: ResolvedDIDDocument, fetched: ContinuousClock.Instant)] = [:]

    public init(configuration: Configuration, http: GuardedHTTPClient? = nil) {
        self.configuration = configuration
        self.http = http ?? GuardedHTTPClient(policy: configuration.policy)
    }

    /// The document of `did`, from the cache when fresh.
    public func resolve(_ did: DID, forceRefresh: Bool = false) async throws(IdentityError) -> ResolvedDIDDocument {
        let now = ContinuousClock.now
        if !forceRefresh, let cached = cache[did], now - cached.fetched < configuration.cacheTTL {
            return cached.document
        }
        let url = try documentURL(did)
        let reply = try await http.get(url, accept: "application/did+ld+json, application/json", timeout: configuration.timeout)
        switch reply.status {
        case 200: break
        case 404, 410: throw .didNotFound(did.string)
        default: throw .unreachable("\(url) answered \(reply.status)")
        }
        let value: DataValue
        do {
            value = try ATProtoJSON.decode(reply.body, mode: .lenient)
        } catch {
            throw .invalidDocument("not JSON: \(error)")
        }
        let document = try ResolvedDIDDocument(did: did, document: value)
        cache[did] = (document, now)
        if cache.count > 50_000 { cache.removeAll() }
        return document
    }

    /// The `#atproto` signing key of `did`.
    public func signingKey(for did: DID, forceRefresh: Bool = false) async throws(IdentityError) -> PublicKey {
        guard let key = try await resolve(did, forceRefresh: forceRefresh).signingKey else {
            throw .invalidDocument("\(did) has no #atproto signing key")
        }
        return key
    }

    /// Forgets the cached document of `did` (after it changed here).
    public func purge(_ did: DID) {
        cache[did] = nil
    }

    /// Where the document of `did` is fetched from.
    public func documentURL(_ did: DID) throws(IdentityError) -> String {
        if did.method == "plc" {
            guard did.isPLC else { throw .unsupportedDID(did.string) }
            guard let base = configuration.plcDirectoryURL, !base.isEmpty else {
                throw .unreachable("no PLC directory is configured, so \(did) cannot be resolved")
            }
            return (base.hasSuffix("/") ? String(base.dropLast()) : base) + "/" + did.string
        }
        if did.method == "web" {
            return try Self.didWebDocumentURL(did)
        }
        throw .unsupportedDID(did.string)
    }

    /// `https://<host>/.well-known/did.json` of a did:web (a `%3A` port is
    /// allowed; paths are not, as in atproto). Plain http is used only for
    /// `localhost` and loopback literals, which the outbound policy refuses
    /// unless private addresses are allowed.
    public static func didWebDocumentURL(_ did: DID) throws(IdentityError) -> String {
        let rest = did.identifier
        guard !rest.contains(":") else { throw .unsupportedDID(did.string) }
        let hostPort = rest.replacingOccurrences(of: "%3A", with: ":").replacingOccurrences(of: "%3a", with: ":")
        let parts = hostPort.split(separator: ":", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), !parts[0].isEmpty,
            parts[0].allSatisfy({ $0.isLetter || $0.isNumber || $0 == "." || $0 == "-" }),
            parts.count == 1 || (UInt16(parts[1]) != nil)
        else { throw .unsupportedDID(did.string) }
        let host = String(parts[0]).lowercased()
        let insecure = host == "localhost" || IPAddress(host).map { !$0.isPublic } == true && host.hasPrefix("127.")
        return (insecure ? "http://" : "https://") + hostPort.lowercased() + "/.well-known/did.json"
    }
}
