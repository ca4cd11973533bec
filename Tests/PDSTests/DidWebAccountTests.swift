import ATCrypto
import ATProto
import Foundation
import PDSTestSupport
import TestSupport
import HTTPTypes
import Hummingbird
import Synchronization
import Testing

@testable import PDS

/// Bring-your-own-domain did:web accounts, against a domain double on
/// loopback that serves a `did.json` the test edits.
@Suite("did:web accounts")
struct DidWebAccountTests {
    @Test func aDidWebAccountIsCreatedThenActivatedOnceItsDocumentNamesTheKey() async throws {
        let domain = try await DomainHost()
        defer { domain.stop() }
        let server = try await TestServer.start { $0.allowPrivateOutbound = true }
        defer { Task { await server.stop() } }
        let input: DataValue = ["did": .string(domain.did), "handle": "carol.test", "password": "carol-password"]

        // A document naming another PDS is refused, and nothing is created.
        domain.serve(pds: "https://elsewhere.example.com", key: nil)
        let refused = try await server.procedure("com.atproto.server.createAccount", input)
        #expect(refused.status == 400 && refused.text.contains("must name this server"), "\(refused.text)")
        #expect(try await server.count("SELECT COUNT(*) FROM account") == 0)

        domain.serve(pds: server.baseURL, key: nil)
        let created = try await server.procedure("com.atproto.server.createAccount", input)
        #expect(created.status == 200, "\(created.text)")
        let token = try #require(created["accessJwt"]?.stringValue)
        #expect(try await server.services.accounts.account(did: try DID(domain.did))?.status == .deactivated)
        // Not yet: the document lacks the account's key.
        let early = try await server.procedure("com.atproto.server.activateAccount", token: token)
        #expect(early.status == 400 && early.text.contains("#atproto key"), "\(early.text)")
        #expect(try await server.services.accounts.account(did: try DID(domain.did))?.status == .deactivated)

        let credentials = try await server.query("com.atproto.identity.getRecommendedDidCredentials", token: token)
        let didKey = try #require(credentials["verificationMethods"]?["atproto"]?.stringValue)
        domain.serve(pds: server.baseURL, key: try PublicKey(didKey: didKey))
        #expect(try await server.procedure("com.atproto.server.activateAccount", token: token).status == 200)
        #expect(try await server.services.accounts.account(did: try DID(domain.did))?.status == .active)
        let session = TestServer.Session(did: domain.did, handle: "carol.test", accessJwt: token, refreshJwt: "")
        #expect(try await server.createPost(session, text: "from my own domain", images: []).status == 200)

        // Without permission to reach private addresses, the loopback domain is refused.
        let strict = try await TestServer.start()
        defer { Task { await strict.stop() } }
        let blocked = try await strict.procedure("com.atproto.server.createAccount", input)
        #expect(blocked.status == 400 && blocked.text.contains("non-public address"), "\(blocked.text)")
    }
}
