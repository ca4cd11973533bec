import ATCrypto
import ATProto
import Foundation

/// What a repository imported over an existing one must satisfy, beyond
/// verifying as a repository of its DID.
///
/// Without these, `importRepo` rolled a repository back (an older CAR of the
/// same account moved `rev` back and went out as a `#sync` with a lower rev)
/// and published forgeries (a commit whose signature did not verify, with
/// rev `3zzzzzzzzzzz2`, was accepted, and every later commit got a rev in
/// the far future). The operator's `pds repo import` uses ``none``.
public struct RepoImportRules: Sendable {
    /// Keys the commit may be signed with, one of which must verify it;
    /// nil checks no signature.
    public var signingKeys: [PublicKey]?
    /// Whether the rev must be after the stored repository's rev.
    public var requireNewerRev: Bool
    /// Whether an empty stored repository (no records) may be replaced by
    /// one with any rev: set only for the placeholder a migrating account
    /// gets until its first import, whose rev is newer than anything it
    /// imports (an account that deleted its records keeps the rule).
    public var emptyRepositoryMayBeReplaced: Bool
    /// How far the rev's time may be ahead of the clock, in seconds.
    public var maxClockSkew: Int?

    public init(
        signingKeys: [PublicKey]?, requireNewerRev: Bool, emptyRepositoryMayBeReplaced: Bool = false, maxClockSkew: Int? = 300
    ) {
        self.signingKeys = signingKeys
        self.requireNewerRev = requireNewerRev
        self.emptyRepositoryMayBeReplaced = emptyRepositoryMayBeReplaced
        self.maxClockSkew = maxClockSkew
    }

    /// No checks beyond verification (an operator restoring a repository).
    public static let none = RepoImportRules(signingKeys: nil, requireNewerRev: false, maxClockSkew: nil)

    /// Throws unless the commit's signature verifies with one of the keys.
    func checkSignature(_ commit: SignedCommit) throws {
        guard let keys = signingKeys else { return }
        guard keys.contains(where: { commit.verify(with: $0) }) else { throw RepoError.badSignature }
    }

    /// Throws when `rev` is further ahead of `now` than the allowed skew.
    func checkNotInFuture(_ rev: String, now: Date = Date()) throws {
        guard let maxClockSkew else { return }
        let tid = try TID(rev)
        let limit = UInt64(max(0, now.timeIntervalSince1970 + Double(maxClockSkew)) * 1_000_000)
        if tid.timestampMicros > limit { throw RepoError.revInFuture(rev) }
    }

    /// Throws unless `rev` may replace the stored `current` rev, given
    /// whether the stored repository holds records.
    func checkReplaces(current: String, storedHasRecords: Bool, with rev: String) throws {
        guard requireNewerRev else { return }
        if !storedHasRecords && emptyRepositoryMayBeReplaced { return }
        guard rev > current else { throw RepoError.revNotIncreasing(previous: current, next: rev) }
    }
}
