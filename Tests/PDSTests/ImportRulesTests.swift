import ATCrypto
import ATProto
import CAR
import Foundation
import MST
import PDSTestSupport
import Repo
import Testing

@testable import PDS

extension TestServer {
    /// The signing key an account has here.
    func signingKey(_ did: String) async throws -> PrivateKey {
        try #require(try await services.accounts.account(did: try DID(did))).signingKey
    }
}

/// `importRepo` over a repository that already has commits: no rollback,
/// no forged signature, no rev from the future.
@Suite("importRepo rules")
struct ImportRulesTests {
    /// A one-post repository of `did` signed by `key` at `rev`, as a CAR.
    static func repositoryCAR(did: String, key: PrivateKey, rev: TID, text: String = "imported") throws -> [UInt8] {
        let first = try Repository.create(did: try DID(did), key: key, rev: TID(timestampMicros: rev.timestampMicros - 1, clockID: 0))
        let repo = try Repository(did: try DID(did), commitCID: first.commitCID, store: MemoryBlockStore(first.newBlocks))
        let post: DataValue = ["$type": "app.bsky.feed.post", "text": .string(text), "createdAt": "2026-01-01T00:00:00.000Z"]
        let commit = try repo.apply([.create(collection: try NSID("app.bsky.feed.post"), rkey: try RecordKey("3kaaaaaaaaaa2"), record: post)], key: key, rev: rev)
        return CARWriter.bytes(roots: [commit.commitCID], blocks: commit.newBlocks.map { (cid: $0.key, bytes: $0.value) })
    }

    func importRepo(_ server: TestServer, _ car: [UInt8], token: String) async throws -> TestServer.Reply {
        try await server.request(
            "POST", "/xrpc/com.atproto.repo.importRepo", body: car, contentType: "application/vnd.ipld.car",
            headers: ["Authorization": "Bearer \(token)"])
    }

    static func now(plusSeconds seconds: Double = 0) -> TID {
        TID(timestampMicros: UInt64((Date().timeIntervalSince1970 + seconds) * 1_000_000), clockID: 7)
    }

    @Test func rollbacksForgeriesAndFutureRevsAreRefusedAndChangeNothing() async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let alice = try await server.createAccount("alice")
        #expect(try await server.createPost(alice, text: "one", images: []).status == 200)
        let olderCAR = try await server.query("com.atproto.sync.getRepo", [("did", alice.did)]).body
        #expect(try await server.createPost(alice, text: "two", images: []).status == 200)
        let revBefore = try #require(try await server.rev(alice.did))
        let eventsBefore = try await server.sequencedEvents().count
        let key = try await server.signingKey(alice.did)
        let stranger = PrivateKey.generate(.secp256k1)

        let attempts: [(String, [UInt8], String)] = [
            ("an older export of the same account", olderCAR, "is not after the previous rev"),
            ("a stranger's signature, far-future rev", try Self.repositoryCAR(did: alice.did, key: stranger, rev: try TID("3zzzzzzzzzzz2")), "signature"),
            ("a stranger's signature, current rev", try Self.repositoryCAR(did: alice.did, key: stranger, rev: Self.now()), "signature"),
            ("the account's key, a rev a day ahead", try Self.repositoryCAR(did: alice.did, key: key, rev: Self.now(plusSeconds: 86_400)), "future"),
        ]
        for (what, car, reason) in attempts {
            let reply = try await importRepo(server, car, token: alice.accessJwt)
            #expect(reply.status == 400 && reply.error == "InvalidRequest", "\(what): \(reply.status) \(reply.text)")
            #expect(reply.text.contains(reason), "\(what): \(reply.text)")
        }
        #expect(try await server.rev(alice.did) == revBefore)
        #expect(try await server.sequencedEvents().count == eventsBefore, "a refused import announced something")
        let posts = try await server.query("com.atproto.repo.listRecords", [("repo", alice.did), ("collection", "app.bsky.feed.post")])
        #expect(posts["records"]?.arrayValue?.count == 2)

        // A newer repository signed with the account's key is taken, and
        // announced with its rev; the next commit follows it.
        let newer = Self.now(plusSeconds: 1)
        let accepted = try await importRepo(server, try Self.repositoryCAR(did: alice.did, key: key, rev: newer), token: alice.accessJwt)
        #expect(accepted.status == 200, "\(accepted.text)")
        #expect(try await server.rev(alice.did) == newer.string)
        let sync = try #require(try await server.sequencedEvents().last)
        let syncRev = try sync.body()["rev"]?.stringValue
        #expect(sync.type == "#sync" && syncRev == newer.string)
        #expect(try await server.createPost(alice, text: "three", images: []).status == 200)
        #expect(try #require(try await server.rev(alice.did)) > newer.string)
    }
}
