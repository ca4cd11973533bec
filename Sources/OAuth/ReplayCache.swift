import Synchronization

/// Identifiers seen recently (DPoP `jti`s, client assertion `jti`s), each
/// remembered until it could no longer be accepted anyway, so that a
/// second use inside that window is refused.
///
/// Bounded: past ``capacity`` entries the expired ones are dropped, and if
/// that frees nothing the oldest half goes. A proof is only remembered
/// after its signature, time and nonce passed, so filling the cache takes
/// valid proofs at a rate of over ``capacity`` per proof lifetime (2,500
/// per second for 200,000 entries and 80 s), and what it buys is a replay
/// of a proof that was already bound to one URL and one minute.
public final class ReplayCache: Sendable {
    public let capacity: Int
    private let seen = Mutex<[String: Int]>([:])

    public init(capacity: Int = 200_000) {
        self.capacity = capacity
    }

    /// Records `id` until `expiresAt` (seconds); false if it was already
    /// recorded and has not expired.
    public func firstUse(_ id: String, expiresAt: Int, now: Int) -> Bool {
        seen.withLock { seen in
            if let until = seen[id], until > now { return false }
            if seen.count >= capacity {
                seen = seen.filter { $0.value > now }
                if seen.count >= capacity {
                    let keep = seen.sorted { $0.value > $1.value }.prefix(capacity / 2)
                    seen = Dictionary(uniqueKeysWithValues: keep.map { ($0.key, $0.value) })
                }
            }
            seen[id] = expiresAt
            return true
        }
    }
}
