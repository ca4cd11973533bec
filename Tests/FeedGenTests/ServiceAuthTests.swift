import ATCrypto
import ATProto
import FeedGen
import Foundation
import Synchronization
import Testing

/// A resolver double: serves `stale` until a forced refresh, then `current`.
final class RotatingResolver: SigningKeyResolver {
    let stale: PublicKey
    let current: PublicKey
    private let calls = Mutex<[Bool]>([])

    init(stale: PublicKey, current: PublicKey) {
        self.stale = stale
        self.current = current
    }

    var forcedRefreshes: Int { calls.withLock { $0.filter { $0 }.count } }
    var lookups: Int { calls.withLock { $0.count } }

    func signingKey(for did: DID, forceRefresh: Bool) async throws -> PublicKey {
        calls.withLock { $0.append(forceRefresh) }
        guard did.string == "did:plc:requester000000000000" else { throw FeedGenError.invalidToken("unknown DID") }
        return forceRefresh ? current : stale
    }
}

@Suite("Service JWT verification")
struct ServiceAuthTests {
    let did = "did:plc:requester000000000000"
    let audience = "did:web:feeds.example.com"

    func token(_ key: PrivateKey, aud: String? = nil, exp: Int? = nil, lxm: String = "app.bsky.feed.getFeedSkeleton", iss: String? = nil) throws -> String {
        let now = Int(Date().timeIntervalSince1970)
        return try JWT.sign(
            claims: JWTClaims(iss: iss ?? did, aud: aud ?? audience, exp: exp ?? now + 60, iat: now, lxm: lxm, jti: "j"), typ: "JWT", key: key)
    }

    @Test(arguments: [KeyType.secp256k1, .p256])
    func validTokensPassAndAKeyRotationIsFollowedOnce(type: KeyType) async throws {
        let old = PrivateKey.generate(type), new = PrivateKey.generate(type)
        let resolver = RotatingResolver(stale: old.publicKey, current: new.publicKey)
        let verifier = ServiceAuthVerifier(resolver: resolver, audience: audience)
        #expect(try await verifier.verify(try token(old)).string == did)
        #expect(try await verifier.verify(try token(old)).string == did)
        #expect(resolver.lookups == 1)  // cached
        // Signed with the rotated key: one forced refresh finds it.
        #expect(try await verifier.verify(try token(new)).string == did)
        #expect(resolver.forcedRefreshes == 1)
    }

    @Test func forgedExpiredAndMisdirectedTokensAreRefused() async throws {
        let key = PrivateKey.generate(.secp256k1)
        let resolver = RotatingResolver(stale: key.publicKey, current: key.publicKey)
        let verifier = ServiceAuthVerifier(resolver: resolver, audience: audience)
        let now = Int(Date().timeIntervalSince1970)
        let cases: [(String, String)] = [
            (try token(.generate(.secp256k1)), "InvalidToken"),
            (try token(key, exp: now - 300), "ExpiredToken"),
            (try token(key, aud: "did:web:other.example"), "InvalidToken"),
            (try token(key, lxm: "app.bsky.feed.getTimeline"), "InvalidToken"),
            (try token(key, iss: "did:plc:stranger0000000000000000"), "InvalidToken"),
            (try token(.generate(.ed25519)), "InvalidToken"),
            ("a.b", "InvalidToken"),
        ]
        for (jwt, name) in cases {
            do {
                _ = try await verifier.verify(jwt)
                Issue.record("accepted \(jwt)")
            } catch {
                #expect(error.name == name, "\(error)")
            }
        }
        // A forged token costs at most one forced refresh, and a token whose
        // payload was altered after signing fails.
        let good = try token(key)
        let parts = good.split(separator: ".")
        let altered = parts[0] + "." + parts[1].dropLast(2) + "x0." + parts[2]
        await #expect(throws: FeedGenError.self) { _ = try await verifier.verify(String(altered)) }
    }
}
