import ATProto
import Foundation
import PDSTestSupport
import Testing

@testable import PDS

/// Failed sign-ins count per account and client address: a stranger's
/// failures never lock the owner out, and unknown identifiers are refused
/// exactly as known ones are, in about the same time.
@Suite("Sign-in throttling")
struct LoginThrottleTests {
    /// A server that takes the client address from `X-Forwarded-For`, so
    /// one test can speak from many addresses.
    static func server() async throws -> TestServer {
        try await TestServer.start { $0.trustProxy = true }
    }

    func login(_ server: TestServer, _ identifier: String, _ password: String, from address: String) async throws -> TestServer.Reply {
        try await server.request(
            "POST", "/xrpc/com.atproto.server.createSession",
            body: ATProtoJSON.encode(["identifier": .string(identifier), "password": .string(password)]),
            contentType: "application/json", headers: ["X-Forwarded-For": address])
    }

    @Test func fiveFailuresLockOnlyThatAddressOutOfThatAccount() async throws {
        let server = try await Self.server()
        defer { Task { await server.stop() } }
        _ = try await server.createAccount("carol", password: "right-password")
        _ = try await server.createAccount("dan", password: "dans-password")
        for _ in 0..<5 {
            let bad = try await login(server, "carol.test", "wrong", from: "203.0.113.9")
            #expect(bad.status == 401 && bad.error == "AuthenticationRequired")
        }
        // The attacker's address is locked out of carol's account, even with the right password…
        let locked = try await login(server, "carol.test", "right-password", from: "203.0.113.9")
        #expect(locked.status == 429 && locked.error == "RateLimitExceeded")
        #expect(Int(locked.headers["retry-after"] ?? "") ?? 0 > 0)
        // …but carol, elsewhere, signs in, and the attacker's address may still sign in to dan.
        #expect(try await login(server, "carol.test", "right-password", from: "198.51.100.7").status == 200)
        #expect(try await login(server, "dan.test", "dans-password", from: "203.0.113.9").status == 200)
    }

    @Test func anUnknownIdentifierIsRefusedAndLockedAsAKnownOneIs() async throws {
        let server = try await Self.server()
        defer { Task { await server.stop() } }
        _ = try await server.createAccount("erin", password: "erins-password")
        func answers(_ identifier: String, from address: String) async throws -> [String] {
            var seen: [String] = []
            for _ in 0..<6 {
                let reply = try await login(server, identifier, "wrong", from: address)
                seen.append("\(reply.status) \(reply.error ?? "")")
            }
            return seen
        }
        let known = try await answers("erin.test", from: "203.0.113.10")
        let unknown = try await answers("nobody.test", from: "203.0.113.11")
        #expect(known == unknown)
        #expect(known.last == "429 RateLimitExceeded" && known.first == "401 AuthenticationRequired")
    }

    @Test func anUnknownIdentifierCostsTheSameArgon2Work() async throws {
        // Before, a wrong password took 55 ms and an unknown identifier
        // 1.1 ms: no Argon2id at all. Counted, not timed (times on a loaded
        // machine say little): each refusal costs one verification of the
        // server's strength, the unknown one against a stand-in hash.
        let server = try await Self.server()
        defer { Task { await server.stop() } }
        _ = try await server.createAccount("fay", password: "fays-password")
        let verifications = server.services.passwordVerifications
        func cost(_ identifier: String, from address: String) async throws -> Int {
            let before = verifications.value
            #expect(try await login(server, identifier, "wrong", from: address).status == 401)
            return verifications.value - before
        }
        #expect(try await cost("fay.test", from: "198.18.0.1") == 1)
        #expect(try await cost("ghost.test", from: "198.18.0.2") == 1)
        #expect(try await cost("ghost@example.com", from: "198.18.0.3") == 1)
    }

    @Test func pastTheCeilingStrangersAreSlowedButTheOwnersAddressIsNot() async throws {
        let server = try await Self.server()
        defer { Task { await server.stop() } }
        _ = try await server.createAccount("gus", password: "gus-password")
        // The owner has signed in from home before.
        #expect(try await login(server, "gus.test", "gus-password", from: "198.51.100.1").status == 200)
        // Many addresses, each under its own limit, fail 100 times together.
        let ceiling = server.services.loginThrottle.accountCeiling
        for i in 0..<ceiling {
            let reply = try await login(server, "gus.test", "guess-\(i)", from: "203.0.113.\(i / 4)")
            #expect(reply.status == 401, "attempt \(i): \(reply.status)")
        }
        // A new address now waits its turn, right password or not…
        let slowed = try await login(server, "gus.test", "gus-password", from: "192.0.2.77")
        #expect(slowed.status == 429 && Int(slowed.headers["retry-after"] ?? "") ?? 0 > 0)
        // …while the owner's address signs in at once.
        #expect(try await login(server, "gus.test", "gus-password", from: "198.51.100.1").status == 200)
    }
    @Test func attemptsSentTogetherGetNoMoreTriesThanOneAtATime() async throws {
        let server = try await Self.server()
        defer { Task { await server.stop() } }
        _ = try await server.createAccount("hal", password: "hals-password")
        let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
            for i in 0..<20 {
                group.addTask { try await login(server, "hal.test", "guess-\(i)", from: "203.0.113.44").status }
            }
            return try await group.reduce(into: [Int]()) { $0.append($1) }
        }
        #expect(statuses.filter { $0 == 401 }.count == server.services.loginThrottle.pairFailures, "\(statuses.sorted())")
        #expect(statuses.filter { $0 == 429 }.count == 20 - server.services.loginThrottle.pairFailures)
    }
}

