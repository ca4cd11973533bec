import Foundation

/// Why resolving a DID or a handle, or reaching a service named by one,
/// failed. Each case's description is a sentence a user can act on.
public enum IdentityError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The DID's syntax or method is not supported (only did:plc and did:web).
    case unsupportedDID(String)
    /// The DID is not known to the directory or the host (404/410).
    case didNotFound(String)
    /// A DID document was fetched but is not valid for this DID.
    case invalidDocument(String)
    /// The handle does not resolve to any DID.
    case handleNotFound(String)
    /// An outbound request was refused because its host is a loopback,
    /// private, link-local or otherwise non-public address.
    case forbiddenAddress(host: String, address: String)
    /// A network failure (connection refused, timeout, bad status).
    case unreachable(String)
    /// A DNS query failed or its answer could not be read.
    case dns(String)

    public var description: String {
        switch self {
        case .unsupportedDID(let did): return "unsupported DID (only did:plc and did:web are resolvable): \(did)"
        case .didNotFound(let did): return "DID not found: \(did)"
        case .invalidDocument(let why): return "invalid DID document: \(why)"
        case .handleNotFound(let handle): return "handle does not resolve to a DID: \(handle)"
        case .forbiddenAddress(let host, let address):
            return "refusing to connect to \(host): it resolves to the non-public address \(address)"
        case .unreachable(let why): return "could not reach the service: \(why)"
        case .dns(let why): return "DNS lookup failed: \(why)"
        }
    }
}
