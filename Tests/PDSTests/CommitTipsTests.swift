import ATProto
import CAR
import Foundation
import PDSTestSupport
import Repo
import Sequencer
import Testing

@testable import PDS

/// Commits built in memory ahead of the writer, on each repository's tip:
/// used when possible, built again on the writer when the tip is stale,
/// and the event log's commits chain exactly as when built on the writer.
@Suite("Commits built ahead of the writer")
struct CommitTipsTests {
    static func post(_ n: Int) -> DataValue {
        ["$type": "app.bsky.feed.post", "text": .string("post \(n)"), "createdAt": "2026-12-03T10:00:00.000Z"]
    }

    func create(_ server: TestServer, _ session: TestServer.Session, _ n: Int, rkey: String? = nil) async throws -> TestServer.Reply {
        var input: DataMap = ["repo": .string(session.did), "collection": "app.bsky.feed.post", "record": Self.post(n)]
        if let rkey { input["rkey"] = .string(rkey) }
        return try await server.procedure("com.atproto.repo.createRecord", .map(input), token: session.accessJwt)
    }

    /// Every `#commit` event of `did` verifies on its own (signature,
    /// operations, inversion to `prevData`) and chains to the one before.
    func verifyCommitChain(_ server: TestServer, did: String) async throws -> Int {
        let key = try await server.services.accounts.account(did: try DID(did))?.signingKey.publicKey
        var previous: (data: CID, rev: String)?
        var count = 0
        for event in try await server.sequencedEvents() where event.did.string == did && event.type == "#commit" {
            let body = try event.body()
            let (_, blocks) = try carBlocks(try #require(body["blocks"]?.bytesValue))
            let commit = try RepoVerifier.verifyCommit(
                commitCID: try #require(body["commit"]?.linkValue), blocks: blocks, ops: try repoOperations(body),
                prevData: body["prevData"]?.linkValue, key: key, expectedDID: try DID(did))
            if let previous {
                #expect(body["prevData"]?.linkValue == previous.data)
                #expect(body["since"]?.stringValue == previous.rev)
                #expect(commit.rev > previous.rev)
            }
            previous = (commit.data, commit.rev)
            count += 1
        }
        return count
    }

    @Test func commitsAreBuiltAheadAndChainAsOnTheWriter() async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let alice = try await server.createAccount("alice")
        for n in 0..<10 { #expect(try await create(server, alice, n).status == 200) }
        // The first commit has no tip (the repository was created elsewhere).
        #expect(server.services.commitTips.built.builtOnWriter == 1)
        #expect(server.services.commitTips.built.builtAhead == 9)

        // Concurrent writers to one repository: built on the same tip, one
        // of each pair is stored as built and the other built again.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for n in 10..<50 {
                group.addTask {
                    let reply = try await create(server, alice, n)
                    guard reply.status == 200 else { throw TestError("write \(n) failed: \(reply.text)") }
                }
            }
            try await group.waitForAll()
        }
        let built = server.services.commitTips.built
        #expect(built.builtAhead + built.builtAgain + built.builtOnWriter == 50)
        #expect(built.builtAhead >= 10)
        #expect(try await verifyCommitChain(server, did: alice.did) == 50)
        let repo = try #require(try server.services.repos.repository(did: try DID(alice.did)))
        #expect(try repo.tree().count() == 50)
        var car: [UInt8] = []
        try server.services.repos.exportCAR(did: try DID(alice.did)) { car += $0 }
        let key = try #require(try await server.services.accounts.account(did: try DID(alice.did))).signingKey.publicKey
        #expect(try RepoVerifier.verifyCAR(InMemoryByteSource(car), expectedDID: try DID(alice.did), key: key).recordCount == 50)
    }

    /// A commit stored without this server's commit path (another process
    /// on the same database, here the storage itself) leaves the tip
    /// behind: the next commit built on it is refused by the writer and
    /// built again on the real current commit. Nothing is lost.
    @Test func aTipLeftBehindIsBuiltAgainOnTheCurrentCommit() async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let bob = try await server.createAccount("bob")
        for n in 0..<3 { #expect(try await create(server, bob, n).status == 200) }
        let tip = try #require(server.services.commitTips.tip(try DID(bob.did)))

        let account = try #require(try await server.services.accounts.account(did: try DID(bob.did)))
        let rkey = TIDGenerator().next().string
        let elsewhere = try server.services.repos.repository(did: try DID(bob.did))!.apply(
            [.create(collection: try NSID("app.bsky.feed.post"), rkey: try RecordKey(rkey), record: Self.post(100))],
            key: account.signingKey, rev: TIDGenerator().next())
        try server.services.repos.apply(elsewhere)
        #expect(server.services.commitTips.tip(try DID(bob.did)) == tip)

        let before = server.services.commitTips.built
        let reply = try await create(server, bob, 3)
        #expect(reply.status == 200, "\(reply.text)")
        #expect(server.services.commitTips.built.builtAgain == before.builtAgain + 1)
        let repo = try #require(try server.services.repos.repository(did: try DID(bob.did)))
        #expect(repo.commit.rev == reply["commit"]?["rev"]?.stringValue)
        #expect(try repo.tree().count() == 5)
        #expect(try repo.record(collection: try NSID("app.bsky.feed.post"), rkey: try RecordKey(rkey)) != nil)
        #expect(server.services.commitTips.tip(try DID(bob.did)) == repo.commitCID)
        // The next one is built ahead again, on the commit just stored.
        #expect(try await create(server, bob, 4).status == 200)
        #expect(server.services.commitTips.built.builtAhead == before.builtAhead + 1)
    }

    /// A refused commit drops the tip (what it named may never be stored);
    /// the next commit is built on the writer and sets it again. The
    /// refusal is the writer's, on the stored state.
    @Test func aRefusedCommitDropsTheTip() async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let carol = try await server.createAccount("carol")
        let twice = TIDGenerator().next().string
        #expect(try await create(server, carol, 0, rkey: twice).status == 200)
        #expect(try await create(server, carol, 1).status == 200)
        #expect(server.services.commitTips.tip(try DID(carol.did)) != nil)
        let rev = try #require(try server.services.repos.repository(did: try DID(carol.did))).commit.rev

        let again = try await create(server, carol, 2, rkey: twice)
        #expect(again.status == 400)
        #expect(again.error == "InvalidSwap")
        #expect(server.services.commitTips.tip(try DID(carol.did)) == nil)
        #expect(try server.services.repos.repository(did: try DID(carol.did))!.commit.rev == rev)

        let before = server.services.commitTips.built
        #expect(try await create(server, carol, 3).status == 200)
        #expect(server.services.commitTips.built.builtOnWriter == before.builtOnWriter + 1)
        #expect(server.services.commitTips.tip(try DID(carol.did)) == (try server.services.repos.repository(did: try DID(carol.did)))?.commitCID)
        #expect(try await verifyCommitChain(server, did: carol.did) == 3)
    }
}
