import ATCrypto
import ATProto
import Foundation
import CAR
import PDSTestSupport
import Repo
import Testing

@testable import PDS

/// The standard account migration between two instances of this server on
/// loopback, with a shared fake PLC directory.
@Suite("Account migration round trip")
struct MigrationRoundTripTests {
    @Test func anAccountMovesToAnotherServerWithItsRepositoryBlobsAndDID() async throws {
        let plc = try await FakePLCDirectory()
        defer { plc.stop() }
        let old = try await TestServer.start { $0.plcDirectoryURL = plc.url }
        let new = try await TestServer.start {
            $0.plcDirectoryURL = plc.url
            $0.serviceDID = "did:web:new-pds.test"
        }
        defer { Task { await old.stop(); await new.stop() } }
        let (alice, files, _) = try await BlobMigrationTests.populatedRepo(on: old)
        let newDID = new.services.config.resolvedServiceDID

        // 1. A service token from the old server lets the new one create the account.
        let serviceAuth = try await old.query(
            "com.atproto.server.getServiceAuth", [("aud", newDID), ("lxm", "com.atproto.server.createAccount")], token: alice.accessJwt)
        let serviceToken = try #require(serviceAuth["token"]?.stringValue)
        let input: DataValue = ["did": .string(alice.did), "handle": "alice.test", "email": "alice@example.com", "password": "new-password"]
        let unauthorized = try await new.procedure("com.atproto.server.createAccount", input)
        #expect(unauthorized.status == 401)
        let forged = try await new.request(
            "POST", "/xrpc/com.atproto.server.createAccount", body: ATProtoJSON.encode(input), contentType: "application/json",
            headers: ["Authorization": "Bearer \(serviceToken.dropLast(4))AAAA"])
        #expect(forged.status == 401)
        #expect(try await new.count("SELECT COUNT(*) FROM account") == 0)
        let created = try await new.request(
            "POST", "/xrpc/com.atproto.server.createAccount", body: ATProtoJSON.encode(input), contentType: "application/json",
            headers: ["Authorization": "Bearer \(serviceToken)"])
        #expect(created.status == 200, "\(created.text)")
        let token = try #require(created["accessJwt"]?.stringValue)
        #expect(try await new.services.accounts.account(did: try DID(alice.did))?.status == .deactivated)

        // 2. Repository and blobs.
        let car = try await old.query("com.atproto.sync.getRepo", [("did", alice.did)])
        let imported = try await new.request(
            "POST", "/xrpc/com.atproto.repo.importRepo", body: car.body, contentType: "application/vnd.ipld.car",
            headers: ["Authorization": "Bearer \(token)"])
        #expect(imported.status == 200, "\(imported.text)")
        let missing = try await new.query("com.atproto.repo.listMissingBlobs", token: token)
        let cids = try #require(missing["blobs"]?.arrayValue).compactMap { $0["cid"]?.stringValue }
        #expect(cids.count == files.count)
        for cid in cids {
            let blob = try await old.query("com.atproto.sync.getBlob", [("did", alice.did), ("cid", cid)])
            #expect(try await new.uploadBlob(blob.body, token: token).status == 200)
        }
        #expect(try await new.query("com.atproto.repo.listMissingBlobs", token: token)["blobs"] == [])

        // 3. The DID moves: the new server's credentials, signed by the old server's rotation key.
        let credentials = try #require(try await new.query("com.atproto.identity.getRecommendedDidCredentials", token: token).json?.mapValue)
        #expect(try await old.procedure("com.atproto.identity.requestPlcOperationSignature", token: alice.accessJwt).status == 200)
        let plcToken = try #require(try await old.emailToken(alice.did, "plc_operation"))
        var signInput = credentials
        signInput["token"] = .string(plcToken)
        let signed = try await old.procedure("com.atproto.identity.signPlcOperation", .map(signInput), token: alice.accessJwt)
        let operation = try #require(signed["operation"], "\(signed.text)")
        let submitted = try await new.procedure("com.atproto.identity.submitPlcOperation", ["operation": operation], token: token)
        #expect(submitted.status == 200, "\(submitted.text)")
        #expect(plc.operations(alice.did).count == 2, "refusals: \(plc.state.refusals.withLock { $0 })")

        // 4. Activate on the new server, deactivate on the old one.
        #expect(try await new.procedure("com.atproto.server.activateAccount", token: token).status == 200)
        #expect(try await old.procedure("com.atproto.server.deactivateAccount", token: alice.accessJwt).status == 200)
        #expect(try await old.services.accounts.account(did: try DID(alice.did))?.status == .deactivated)
        #expect(try await old.query("com.atproto.sync.getRepo", [("did", alice.did)]).status != 200)

        // The DID document now names the new server and its key; the repository verifies there.
        let document = try await new.services.identity.dids.resolve(try DID(alice.did), forceRefresh: true)
        let account = try #require(try await new.services.accounts.account(did: try DID(alice.did)))
        #expect(document.pdsEndpoint == new.baseURL)
        #expect(document.signingKey == account.signingKey.publicKey)
        let status = try await new.query("com.atproto.server.checkAccountStatus", token: token)
        #expect(status["activated"] == true && status["validDid"] == true, "\(status.text)")
        let imported2 = try await new.query("com.atproto.sync.getRepo", [("did", alice.did)])
        #expect(imported2.status == 200)
        #expect(try RepoVerifier.verifyCAR(InMemoryByteSource(imported2.body), expectedDID: try DID(alice.did)).recordCount == 2)
        // New writes are signed with the key the DID document names.
        let session = TestServer.Session(did: alice.did, handle: "alice.test", accessJwt: token, refreshJwt: "")
        #expect(try await new.createPost(session, text: "moved", images: []).status == 200)
        let exported = try await new.query("com.atproto.sync.getRepo", [("did", alice.did)])
        let key = try #require(document.signingKey)
        let verification = try RepoVerifier.verifyCAR(InMemoryByteSource(exported.body), expectedDID: try DID(alice.did), key: key)
        #expect(verification.recordCount == 3 && verification.signatureVerified)
    }
}
