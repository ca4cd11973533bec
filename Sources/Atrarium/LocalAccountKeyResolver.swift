import ATCrypto
import ATProto
import FeedGen
import PDS

/// Resolves the signing keys of accounts hosted on this PDS from its
/// account store (always current, so `forceRefresh` changes nothing).
/// DIDs hosted elsewhere need the network resolver of the identity work.
public struct LocalAccountKeyResolver: SigningKeyResolver {
    let accounts: AccountStore

    public init(accounts: AccountStore) {
        self.accounts = accounts
    }

    /// Why a key could not be found.
    public enum ResolveError: Error, CustomStringConvertible {
        case notLocal(String)
        public var description: String {
            switch self {
            case .notLocal(let did): return "\(did) is not an account of this server, and DID resolution is not available"
            }
        }
    }

    public func signingKey(for did: DID, forceRefresh: Bool) async throws -> PublicKey {
        guard let account = try await accounts.account(did: did) else { throw ResolveError.notLocal(did.string) }
        return account.signingKey.publicKey
    }
}
