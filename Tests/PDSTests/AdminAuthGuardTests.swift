import ATProto
import Foundation
import PDSTestSupport
import Testing

@testable import PDS

/// Guessing the admin password: throttled and locked out per address.
@Suite("Admin authentication throttling")
struct AdminAuthGuardTests {
    func getAccountInfo(_ server: TestServer, _ did: String, password: String, from address: String) async throws -> TestServer.Reply {
        try await server.request(
            "GET", "/xrpc/com.atproto.admin.getAccountInfo", query: [("did", did)],
            headers: ["Authorization": "Basic " + Data("admin:\(password)".utf8).base64EncodedString(), "X-Forwarded-For": address])
    }

    @Test func guessesFromOneAddressLockItOutAndOnlyIt() async throws {
        let server = try await TestServer.start { $0.trustProxy = true }
        defer { Task { await server.stop() } }
        let did = try await server.createAccount("ivy").did
        let limit = server.services.adminAuth.maxFailures
        // 1,000 wrong guesses used to take 0.5 s, every one a 401.
        for i in 0..<limit {
            let reply = try await getAccountInfo(server, did, password: "guess-\(i)", from: "203.0.113.5")
            #expect(reply.status == 401, "guess \(i): \(reply.status)")
        }
        for password in ["guess-next", "admin-secret"] {
            let locked = try await getAccountInfo(server, did, password: password, from: "203.0.113.5")
            #expect(locked.status == 429 && Int(locked.headers["retry-after"] ?? "") ?? 0 > 0, "\(locked.status)")
        }
        // The operator, elsewhere, is not locked out.
        #expect(try await getAccountInfo(server, did, password: "admin-secret", from: "198.51.100.20").status == 200)
    }

    @Test func theComparisonIsOfEqualLengthDigests() {
        let guardian = AdminAuthGuard(maxFailures: 3, window: 60, lockout: 60)
        let secret = "s3cret"
        #expect(guardian.check(given: Array("admin:s3cret".utf8), password: secret, address: "a", now: 0) == .accepted)
        for given in ["admin:s3cre", "admin:s3cret ", "", "root:s3cret"] {
            #expect(guardian.check(given: Array(given.utf8), password: secret, address: "b", now: 0) != .accepted, "\(given)")
        }
        // The third failure locked "b"; the lockout ends after its time.
        #expect(guardian.check(given: Array("admin:s3cret".utf8), password: secret, address: "b", now: 1) == .lockedOut(retryAfter: 59))
        #expect(guardian.check(given: Array("admin:s3cret".utf8), password: secret, address: "b", now: 61) == .accepted)
    }
}
