import ATCrypto
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

    public func signingKey(for did: String, forceRefresh: Bool) async throws -> PublicKey {
        if let key = try? await local.signingKey(for: did, forceRefresh: forceRefresh) { return key }
        return try await dids.signingKey(for: did, forceRefresh: forceRefresh)
    }
}
