import ATCrypto
import ATProto
import Foundation
import FeedGen
import Identity
import PDS

/// Signing keys for service tokens: accounts hosted on this PDS from its
/// account store (always current), every other DID from its DID document
/// through the identity resolver (cached there; `forceRefresh` resolves
/// again, for rotated keys).
public struct IdentityKeyResolver: SigningKeyResolver {
    let local: LocalAccountKeyResolver
    let dids: DIDResolver

    public init(accounts: AccountStore, dids: DIDResolver) {
        self.local = LocalAccountKeyResolver(accounts: accounts)
        self.dids = dids
    }

    public func signingKey(for did: DID, forceRefresh: Bool) async throws -> PublicKey {
        if let key = try? await local.signingKey(for: did, forceRefresh: forceRefresh) { return key }
        return try await dids.signingKey(for: did, forceRefresh: forceRefresh)
    }
}

/// Signing keys from DID documents only, for the standalone feed generator
/// (`pds feedgen serve`), which hosts no accounts: did:plc through the
/// configured PLC directory, did:web from its host, within the PDS config's
/// outbound rules (no private addresses unless allowed).
public struct DIDDocumentKeyResolver: SigningKeyResolver {
    let dids: DIDResolver

    public init(config: PDSConfig) {
        var allowed = Set(config.outboundAllowList.map { $0.lowercased() })
        if let plc = config.resolvedPLCDirectoryURL, let url = URL(string: plc), let host = url.host?.lowercased() {
            allowed.insert("\(host):\(url.port ?? (url.scheme == "http" ? 80 : 443))")
        }
        let policy = OutboundPolicy(allowPrivate: config.allowPrivateOutbound, allowedHostPorts: allowed)
        dids = DIDResolver(configuration: .init(plcDirectoryURL: config.resolvedPLCDirectoryURL, policy: policy))
    }

    public func signingKey(for did: DID, forceRefresh: Bool) async throws -> PublicKey {
        try await dids.signingKey(for: did, forceRefresh: forceRefresh)
    }
}
