import ATCrypto
import ATProto
import Foundation
import PDSTestSupport
import Testing

@testable import PDS

@Suite("Accounts and sessions")
struct SessionTests {
    @Test func createAccountLoginRefreshLogout() async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let alice = try await server.createAccount("alice", password: "correct horse")
        #expect(alice.did.hasPrefix("did:plc:") && alice.did.count == 32)

        // The access token is a real JWT: at+jwt, EdDSA, aud = service DID, a scope and an expiry.
        let decoded = try JWT.decodeUnverified(alice.accessJwt)
        #expect(decoded.header.typ == "at+jwt" && decoded.header.alg == "EdDSA")
        #expect(decoded.claims.aud == "did:web:localhost" && decoded.claims.sub == alice.did)
        #expect(decoded.claims.scope == "com.atproto.access" && decoded.claims.exp != nil)

        for identifier in [alice.handle, alice.did, "alice@example.com", "ALICE.test"] {
            let login = try await server.procedure(
                "com.atproto.server.createSession", ["identifier": .string(identifier), "password": "correct horse"])
            #expect(login.status == 200, "login as \(identifier): \(login.text)")
            #expect(login["did"]?.stringValue == alice.did)
        }
        let session = try await server.query("com.atproto.server.getSession", token: alice.accessJwt)
        #expect(session["handle"]?.stringValue == "alice.test" && session["email"]?.stringValue == "alice@example.com")
        #expect(session["active"] == true)
        #expect(session["didDoc"]?["verificationMethod"]?.arrayValue?.first?["type"] == "Multikey")

        // Refresh rotates the refresh token; the old one is spent.
        let refreshed = try await server.procedure("com.atproto.server.refreshSession", token: alice.refreshJwt)
        #expect(refreshed.status == 200)
        let newRefresh = try #require(refreshed["refreshJwt"]?.stringValue)
        let newAccess = try #require(refreshed["accessJwt"]?.stringValue)
        #expect(newRefresh != alice.refreshJwt)
        #expect(try await server.query("com.atproto.server.getSession", token: newAccess).status == 200)

        // Logout ends the session: its access and refresh tokens stop working.
        #expect(try await server.procedure("com.atproto.server.deleteSession", token: newRefresh).status == 200)
        let afterLogout = try await server.query("com.atproto.server.getSession", token: newAccess)
        #expect(afterLogout.status == 401 && afterLogout.error == "InvalidToken")
        #expect(try await server.procedure("com.atproto.server.refreshSession", token: newRefresh).status == 400)
    }

    @Test func reusingASpentRefreshTokenRevokesTheSession() async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let bob = try await server.createAccount("bob")
        let first = try await server.procedure("com.atproto.server.refreshSession", token: bob.refreshJwt)
        let access = try #require(first["accessJwt"]?.stringValue)
        let refresh = try #require(first["refreshJwt"]?.stringValue)
        // An attacker replays the spent token: refused, and the whole session ends.
        let replay = try await server.procedure("com.atproto.server.refreshSession", token: bob.refreshJwt)
        #expect(replay.status == 400 && replay.error == "ExpiredToken")
        #expect(try await server.query("com.atproto.server.getSession", token: access).status == 401)
        #expect(try await server.procedure("com.atproto.server.refreshSession", token: refresh).status == 400)
        // An access token is not a refresh token, and the other way round.
        #expect(try await server.procedure("com.atproto.server.refreshSession", token: bob.accessJwt).status == 401)
        #expect(try await server.query("com.atproto.server.getSession", token: bob.refreshJwt).status == 401)
    }

    @Test func badAccountInputIsRefused() async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        _ = try await server.createAccount("dave")
        func create(_ input: DataValue) async throws -> TestServer.Reply {
            try await server.procedure("com.atproto.server.createAccount", input)
        }
        let cases: [(DataValue, String)] = [
            (["handle": "dave.test", "email": "d2@example.com", "password": "x"], "HandleNotAvailable"),
            (["handle": "DAVE.test", "email": "d3@example.com", "password": "x"], "HandleNotAvailable"),
            (["handle": "eve.example.com", "email": "e@example.com", "password": "x"], "UnsupportedDomain"),
            (["handle": "ev.test", "email": "e@example.com", "password": "x"], "InvalidHandle"),
            (["handle": "a.b.test", "email": "e@example.com", "password": "x"], "InvalidHandle"),
            (["handle": "-bad-.test", "email": "e@example.com", "password": "x"], "InvalidHandle"),
            (["handle": "eve.test", "email": "dave@example.com", "password": "x"], "InvalidRequest"),
            (["handle": "eve.test", "email": "not-an-email", "password": "x"], "InvalidRequest"),
            (["handle": "eve.test", "email": "e@example.com", "password": ""], "InvalidPassword"),
            (["handle": "eve.test", "email": "e@example.com"], "InvalidRequest"),
            (["handle": 5, "email": "e@example.com", "password": "x"], "InvalidRequest"),
        ]
        for (input, error) in cases {
            let reply = try await create(input)
            #expect(reply.status == 400 && reply.error == error, "\(ATProtoJSON.encodeString(input)) → \(reply.text)")
        }
        // Malformed JSON and non-object bodies.
        for body in ["{", "[]", "null", "{\"handle\": 1.5}"] {
            let reply = try await server.request(
                "POST", "/xrpc/com.atproto.server.createAccount", body: Array(body.utf8), contentType: "application/json")
            #expect(reply.status == 400 && reply.error == "InvalidRequest", "\(body) → \(reply.text)")
        }
        let count = try await server.services.pool.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM account") }
        #expect(count == 1)
        // Bad tokens.
        #expect(try await server.query("com.atproto.server.getSession").error == "AuthRequired")
        #expect(try await server.query("com.atproto.server.getSession", token: "garbage").error == "InvalidToken")
        let forged = JWTClaims(sub: "did:plc:abc", aud: "did:web:localhost", exp: Int(Date().timeIntervalSince1970) + 60, jti: "x", scope: "com.atproto.access")
        let forgedToken = try JWT.sign(claims: forged, typ: "at+jwt", key: PrivateKey.generate(.ed25519))
        #expect(try await server.query("com.atproto.server.getSession", token: forgedToken).error == "InvalidToken")
        let expired = try server.services.tokens.accessToken(
            did: try DID("did:plc:abc"), scope: .access, sessionID: "x", now: Date().addingTimeInterval(-3 * 3600))
        #expect(try await server.query("com.atproto.server.getSession", token: expired).error == "ExpiredToken")
    }
}

@Suite("Rate limits")
struct RateLimitTests {
    @Test func writesOverTheLimitAreRefusedWithRetryAfter() async throws {
        let server = try await TestServer.start { $0.rateLimits.writesPerHour = 3 }
        defer { Task { await server.stop() } }
        let alice = try await server.createAccount("alice")
        let bob = try await server.createAccount("bob")
        func write(_ session: TestServer.Session) async throws -> TestServer.Reply {
            try await server.procedure(
                "com.atproto.repo.createRecord",
                ["repo": .string(session.did), "collection": "app.bsky.feed.like",
                 "record": ["$type": "app.bsky.feed.like", "subject": ["uri": "at://did:plc:abc/app.bsky.feed.post/3kaaaaaaaaaa2", "cid": .string(CID.compute([1]).string)], "createdAt": "2026-11-23T10:00:00.000Z"]],
                token: session.accessJwt)
        }
        for _ in 0..<3 { #expect(try await write(alice).status == 200) }
        let refused = try await write(alice)
        #expect(refused.status == 429 && refused.error == "RateLimitExceeded")
        #expect(Int(refused.headers["retry-after"] ?? "") ?? 0 > 0)
        // The limit is per account: another account still writes.
        #expect(try await write(bob).status == 200)
    }

    @Test func aForgedForwardedForDoesNotEscapeTheLimit() async throws {
        let server = try await TestServer.start { $0.rateLimits.requestsPerFiveMinutes = 3 }
        defer { Task { await server.stop() } }
        for i in 0..<3 {
            let reply = try await server.request(
                "GET", "/xrpc/com.atproto.server.describeServer", headers: ["X-Forwarded-For": "10.0.0.\(i)"])
            #expect(reply.status == 200)
        }
        let refused = try await server.request(
            "GET", "/xrpc/com.atproto.server.describeServer", headers: ["X-Forwarded-For": "10.9.9.9"])
        #expect(refused.status == 429)
    }

    @Test func requestsPerAddressAreLimited() async throws {
        let server = try await TestServer.start { $0.rateLimits.requestsPerFiveMinutes = 5 }
        defer { Task { await server.stop() } }
        for _ in 0..<5 { #expect(try await server.query("com.atproto.server.describeServer").status == 200) }
        #expect(try await server.query("com.atproto.server.describeServer").status == 429)
    }
}

@Suite("Session tokens")
struct SessionTokenTests {
    @Test func aCachedTokenStillExpiresAndKeepsItsType() throws {
        let tokens = SessionTokens(key: .generate(.ed25519), serviceDID: "did:web:example.com")
        let now = Date()
        let access = try tokens.accessToken(did: try DID("did:plc:abc"), scope: .access, sessionID: "s1", now: now)
        #expect(try tokens.verify(access, type: "at+jwt", now: now).did.string == "did:plc:abc")  // now cached
        #expect(try tokens.verify(access, type: "at+jwt", now: now).jti == "s1")
        #expect(throws: XRPCError.self) { try tokens.verify(access, type: "refresh+jwt", now: now) }
        do {
            _ = try tokens.verify(access, type: "at+jwt", now: now.addingTimeInterval(3 * 3600))
            Issue.record("an expired cached token was accepted")
        } catch {
            #expect(error.name == "ExpiredToken")
        }
        // A token signed by another key is never accepted, cached or not.
        let other = SessionTokens(key: .generate(.ed25519), serviceDID: "did:web:example.com")
        let forged = try other.accessToken(did: try DID("did:plc:abc"), scope: .access, sessionID: "s1", now: now)
        #expect(throws: XRPCError.self) { try tokens.verify(forged, type: "at+jwt", now: now) }
    }
}
