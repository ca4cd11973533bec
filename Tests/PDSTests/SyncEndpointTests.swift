import ATCrypto
import ATProto
import CAR
import Foundation
import MST
import PDSTestSupport
import Repo
import Testing

@testable import PDS

@Suite("Sync endpoints")
struct SyncEndpointTests {
    @Test func getRepoRecordBlocksStatusAndList() async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let alice = try await server.createAccount("alice")
        _ = try await server.createAccount("bob")
        var rkeys: [String] = []
        for i in 0..<30 {
            let reply = try await server.procedure(
                "com.atproto.repo.createRecord",
                ["repo": .string(alice.did), "collection": "app.bsky.feed.post", "record": RepoEndpointTests.post(i)],
                token: alice.accessJwt)
            rkeys.append(String(reply["uri"]!.stringValue!.split(separator: "/").last!))
        }
        let account = try #require(try await server.services.accounts.account(did: try DID(alice.did)))

        // getRepo streams a CAR that verifies against the account's key.
        let car = try await server.query("com.atproto.sync.getRepo", [("did", alice.did)])
        #expect(car.status == 200 && car.headers["content-type"] == "application/vnd.ipld.car")
        let verified = try RepoVerifier.verifyCAR(InMemoryByteSource(car.body), expectedDID: try DID(alice.did), key: account.signingKey.publicKey)
        #expect(verified.recordCount == 30)

        // since: only blocks of later revs.
        let head = try await server.query("com.atproto.sync.getLatestCommit", [("did", alice.did)])
        #expect(head["cid"]?.stringValue == verified.commitCID.string && head["rev"]?.stringValue == verified.rev)
        _ = try await server.procedure(
            "com.atproto.repo.createRecord",
            ["repo": .string(alice.did), "collection": "app.bsky.feed.post", "record": RepoEndpointTests.post(99)], token: alice.accessJwt)
        let diff = try await server.query("com.atproto.sync.getRepo", [("did", alice.did), ("since", verified.rev)])
        var reader = try CARReader(source: InMemoryByteSource(diff.body))
        let diffBlocks = try reader.readAll()
        #expect(diffBlocks.count > 1 && diffBlocks.count < 20)

        // getRecord: a CAR proving the record under the signed commit.
        let proof = try await server.query(
            "com.atproto.sync.getRecord", [("did", alice.did), ("collection", "app.bsky.feed.post"), ("rkey", rkeys[4])])
        var proofReader = try CARReader(source: InMemoryByteSource(proof.body))
        let root = try #require(proofReader.roots.first)
        let blocks = try proofReader.readAll()
        let repo = try Repository(did: try DID(alice.did), commitCID: root, store: MemoryBlockStore(blocks))
        #expect(repo.commit.verify(with: account.signingKey.publicKey))
        let record = try #require(try repo.record(collection: try NSID("app.bsky.feed.post"), rkey: try RecordKey(rkeys[4])))
        #expect(record.value["text"] == "post 4")

        // getBlocks.
        let blocksReply = try await server.query(
            "com.atproto.sync.getBlocks", [("did", alice.did), ("cids", record.cid.string), ("cids", root.string)])
        var blocksReader = try CARReader(source: InMemoryByteSource(blocksReply.body))
        #expect(try blocksReader.readAll().count == 2)
        let missing = try await server.query("com.atproto.sync.getBlocks", [("did", alice.did), ("cids", CID.compute([7]).string)])
        #expect(missing.status == 400)

        // Status and the list of repos.
        let status = try await server.query("com.atproto.sync.getRepoStatus", [("did", alice.did)])
        #expect(status["active"] == true && status["rev"] != nil)
        let list = try await server.query("com.atproto.sync.listRepos", [("limit", "1")])
        #expect(list["repos"]?.arrayValue?.count == 1 && list["cursor"] != nil)
        let next = try await server.query("com.atproto.sync.listRepos", [("cursor", list["cursor"]!.stringValue!)])
        let dids = (list["repos"]!.arrayValue! + next["repos"]!.arrayValue!).compactMap { $0["did"]?.stringValue }
        #expect(Set(dids).count == 2)

        // Unknown and malformed DIDs.
        for did in ["did:plc:unknownunknownunknown1234", "not-a-did", "../../etc/passwd"] {
            #expect(try await server.query("com.atproto.sync.getRepo", [("did", did)]).error == "RepoNotFound")
        }
        #expect(try await server.query("com.atproto.sync.getRepo", [("did", alice.did), ("since", "garbage")]).status == 400)
    }
}
