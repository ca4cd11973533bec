import ATCrypto
import ATProto
import Foundation

/// The parts of a DID document atproto uses: the handle it claims
/// (`alsoKnownAs` `at://…`), the repository signing key (verification
/// method `#atproto`), and the service endpoints (`#atproto_pds` and any
/// other `#id`), with the document itself.
public struct ResolvedDIDDocument: Sendable, Equatable {
    /// A service entry.
    public struct ServiceEntry: Sendable, Equatable {
        public let id: String
        public let type: String
        public let endpoint: String
    }

    public let did: DID
    /// The first `at://` entry of `alsoKnownAs`, without the scheme, lower case.
    public let handle: String?
    /// The `#atproto` key, when present and readable.
    public let signingKey: PublicKey?
    /// Services by fragment id without `#` (`atproto_pds`, `atproto_labeler`, `bsky_fg`, …).
    public let services: [String: ServiceEntry]
    /// The document as fetched.
    public let document: DataValue

    /// The `#atproto_pds` endpoint.
    public var pdsEndpoint: String? { services["atproto_pds"]?.endpoint }

    /// The endpoint of service `#id` (with or without the `#`).
    public func serviceEndpoint(_ id: String) -> String? {
        services[id.hasPrefix("#") ? String(id.dropFirst()) : id]?.endpoint
    }

    /// Parses `document` as the DID document of `did`: its `id` must be `did`.
    public init(did: DID, document: DataValue) throws(IdentityError) {
        guard case .map(let map) = document else { throw .invalidDocument("not a JSON object") }
        guard map["id"]?.stringValue == did.string else {
            throw .invalidDocument("its id \(map["id"]?.stringValue ?? "(none)") is not \(did)")
        }
        self.did = did
        self.document = document
        handle = (map["alsoKnownAs"]?.arrayValue ?? []).lazy.compactMap(\.stringValue)
            .first { $0.hasPrefix("at://") }.map { String($0.dropFirst(5)).lowercased() }
        var key: PublicKey? = nil
        for method in map["verificationMethod"]?.arrayValue ?? [] {
            guard let id = method["id"]?.stringValue, id == "#atproto" || id == did.string + "#atproto",
                let type = method["type"]?.stringValue, let multibase = method["publicKeyMultibase"]?.stringValue
            else { continue }
            if let controller = method["controller"]?.stringValue, controller != did.string { continue }
            key = try? PublicKey(verificationMethodType: type, publicKeyMultibase: multibase)
            break
        }
        signingKey = key
        var services: [String: ServiceEntry] = [:]
        for entry in map["service"]?.arrayValue ?? [] {
            guard let id = entry["id"]?.stringValue, let type = entry["type"]?.stringValue,
                let endpoint = entry["serviceEndpoint"]?.stringValue
            else { continue }
            let fragment: String
            if id.hasPrefix("#") {
                fragment = String(id.dropFirst())
            } else if id.hasPrefix(did.string + "#") {
                fragment = String(id.dropFirst(did.string.count + 1))
            } else {
                continue
            }
            if services[fragment] == nil { services[fragment] = ServiceEntry(id: fragment, type: type, endpoint: endpoint) }
        }
        self.services = services
    }
}
