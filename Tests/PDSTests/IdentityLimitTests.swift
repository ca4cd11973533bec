import ATProto
import Foundation
import PDSTestSupport
import Testing

@testable import PDS

/// Identity changes queue did:plc operations: each method has the
/// reference PDS's per-account limits (10 in 5 minutes, 50 a day).
@Suite("Identity operation limits")
struct IdentityLimitTests {
    @Test func updateHandleIsLimitedPerAccount() async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let lee = try await server.createAccount("lee")
        let max = try #require(IdentityMethods.identityLimits.first?.max)
        for i in 0..<max {
            let reply = try await server.procedure(
                "com.atproto.identity.updateHandle", ["handle": .string("lee\(i).test")], token: lee.accessJwt)
            #expect(reply.status == 200, "call \(i): \(reply.text)")
        }
        let refused = try await server.procedure("com.atproto.identity.updateHandle", ["handle": "lee-last.test"], token: lee.accessJwt)
        #expect(refused.status == 429 && refused.error == "RateLimitExceeded" && refused.headers["retry-after"] != nil)
        // Nothing changed and no operation was queued by the refused call.
        #expect(try await server.services.accounts.account(did: try DID(lee.did))?.handle.string == "lee\(max - 1).test")
        let operations = try await server.count("SELECT COUNT(*) FROM plc_operation WHERE did = ?", [lee.did])
        #expect(operations == max + 1)
        // Another account is not affected.
        let mia = try await server.createAccount("mia")
        #expect(try await server.procedure("com.atproto.identity.updateHandle", ["handle": "mia2.test"], token: mia.accessJwt).status == 200)
    }
}
