import ATProto
import CAR
import Foundation
import GRDB
import PDSTestSupport
import Repo
import Sequencer
import Testing

@testable import PDS

/// Helpers for reading the event log.
extension TestServer {
    /// Every retained event, in seq order.
    func sequencedEvents() async throws -> [SequencedEvent] {
        try await services.pool.read { db in try Sequencer.events(after: 0, limit: 1_000_000, db: db) }
    }

    /// Writes `ops` (create/update/delete of posts) with applyWrites.
    func applyWrites(_ session: Session, _ writes: [DataValue]) async throws -> Reply {
        try await procedure(
            "com.atproto.repo.applyWrites", ["repo": .string(session.did), "writes": .array(writes)], token: session.accessJwt)
    }
}

/// A decoded `#commit` body's operations.
func repoOperations(_ body: DataMap) throws -> [RepoOperation] {
    try (body["ops"]?.arrayValue ?? []).map { op in
        let action = try #require(RepoOperation.Action(rawValue: op["action"]?.stringValue ?? ""))
        return RepoOperation(
            action: action, path: try #require(op["path"]?.stringValue), cid: op["cid"]?.linkValue, prev: op["prev"]?.linkValue)
    }
}

func carBlocks(_ bytes: [UInt8]) throws -> (roots: [CID], blocks: [CID: [UInt8]]) {
    var reader = try CARReader(source: InMemoryByteSource(bytes))
    let blocks = try reader.readAll()
    return (reader.roots, blocks)
}

func postValue(_ text: String) -> DataValue {
    ["$type": "app.bsky.feed.post", "text": .string(text), "createdAt": "2026-11-23T10:00:00.000Z"]
}

@Suite("Sequencer event log")
struct SequencerLogTests {
    @Test func commitsAreSequencedGapFreeAndVerify() async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let alice = try await server.createAccount("alice")
        let bob = try await server.createAccount("bob")
        // Account creation: #identity, #account (active), #sync of the first commit.
        let created = try await server.sequencedEvents()
        #expect(created.map(\.type) == ["#identity", "#account", "#sync", "#identity", "#account", "#sync"])
        #expect(created.map(\.did.string) == [alice.did, alice.did, alice.did, bob.did, bob.did, bob.did])
        let account = try created[1].body()
        #expect(account["active"] == true && account["did"]?.stringValue == alice.did && account["seq"] == 2)
        #expect(try created[0].body()["handle"] == "alice.test")
        let sync = try created[2].body()
        let (syncRoots, syncBlocks) = try carBlocks(try #require(sync["blocks"]?.bytesValue))
        let syncRoot = try #require(syncRoots.first)
        let firstCommit = try SignedCommit(bytes: try #require(syncBlocks[syncRoot]))
        #expect(sync["rev"]?.stringValue == firstCommit.rev)

        // Creates, updates and deletes, interleaved across two accounts,
        // plus failing writes that must append nothing.
        var paths: [String] = []
        for i in 0..<6 {
            let reply = try await server.post(alice.did, "post \(i)", token: alice.accessJwt)
            #expect(reply.status == 200, "\(reply.text)")
            paths.append(String(try #require(reply["uri"]?.stringValue).split(separator: "/", maxSplits: 2)[2]))
            #expect(try await server.post(bob.did, "bob \(i)", token: bob.accessJwt).status == 200)
        }
        let before = try await server.sequencedEvents().count
        let bad = try await server.procedure(
            "com.atproto.repo.createRecord",
            ["repo": .string(alice.did), "collection": "app.bsky.feed.post", "record": ["$type": "app.bsky.feed.post"]],
            token: alice.accessJwt)
        #expect(bad.status == 400)
        let badSwap = try await server.applyWrites(alice, [
            ["$type": "com.atproto.repo.applyWrites#delete", "collection": "app.bsky.feed.post", "rkey": "3zzzzzzzzzzzz"],
        ])
        #expect(badSwap.status == 400)
        #expect(try await server.sequencedEvents().count == before)

        let rkey = { (path: String) in DataValue.string(String(path.split(separator: "/")[1])) }
        let mixed = try await server.applyWrites(alice, [
            ["$type": "com.atproto.repo.applyWrites#update", "collection": "app.bsky.feed.post", "rkey": rkey(paths[0]),
             "value": postValue("edited")],
            ["$type": "com.atproto.repo.applyWrites#delete", "collection": "app.bsky.feed.post", "rkey": rkey(paths[1])],
            ["$type": "com.atproto.repo.applyWrites#create", "collection": "app.bsky.feed.post", "value": postValue("new")],
        ])
        #expect(mixed.status == 200, "\(mixed.text)")

        let events = try await server.sequencedEvents()
        #expect(events.map(\.seq) == Array(1...Int64(events.count)))
        let commits = events.filter { $0.type == "#commit" }
        #expect(commits.count == 13)
        var previousData: [String: CID] = [alice.did: firstCommit.data]
        var previousRev: [String: String] = [alice.did: firstCommit.rev]
        for event in commits {
            let frame = try event.frame()
            let (header, body) = try Frames.decode(frame)
            #expect(header["op"] == 1 && header["t"] == "#commit")
            #expect(body["seq"]?.intValue == event.seq)
            let did = try #require(body["repo"]?.stringValue)
            let (roots, blocks) = try carBlocks(try #require(body["blocks"]?.bytesValue))
            let commitCID = try #require(body["commit"]?.linkValue)
            #expect(roots == [commitCID])
            let ops = try repoOperations(body)
            let key = try await server.services.accounts.account(did: try DID(did))?.signingKey.publicKey
            let commit = try RepoVerifier.verifyCommit(
                commitCID: commitCID, blocks: blocks, ops: ops, prevData: body["prevData"]?.linkValue, key: key, expectedDID: try DID(did))
            if let previous = previousData[did] { #expect(body["prevData"]?.linkValue == previous) }
            if let previous = previousRev[did] { #expect(body["since"]?.stringValue == previous) }
            #expect(body["rev"]?.stringValue == commit.rev && body["rebase"] == false && body["tooBig"] == false)
            previousData[did] = commit.data
            previousRev[did] = commit.rev
        }
        let last = try repoOperations(try commits.last!.body())
        #expect(last.map(\.action) == [.update, .delete, .create])
        #expect(last[0].prev != nil && last[1].prev != nil && last[1].cid == nil && last[2].prev == nil)
    }

    @Test func accountStatusChangesAreSequenced() async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let alice = try await server.createAccount("alice")
        #expect(try await server.procedure("com.atproto.server.deactivateAccount", token: alice.accessJwt).status == 200)
        #expect(try await server.procedure("com.atproto.server.activateAccount", token: alice.accessJwt).status == 200)
        try await AccountAdmin.setTakedown(did: try DID(alice.did), applied: true, ref: nil, services: server.services)
        try await AccountAdmin.delete(did: try DID(alice.did), services: server.services)
        let accountEvents = try await server.sequencedEvents().filter { $0.type == "#account" }.map { try $0.body() }
        #expect(accountEvents.map { $0["active"] } == [true, false, true, false, false])
        #expect(accountEvents.map { $0["status"] } == [nil, "deactivated", nil, "takendown", "deleted"])
        let events = try await server.sequencedEvents()
        #expect(events.map(\.seq) == Array(1...Int64(events.count)))
        // Creation: identity, account, sync; deactivation: account;
        // activation: identity, account, sync; takedown, deletion: account.
        #expect(events.map(\.type) == [
            "#identity", "#account", "#sync", "#account", "#identity", "#account", "#sync", "#account", "#account",
        ])
    }

    @Test func pruningKeepsSeqMonotonic() async throws {
        let server = try await TestServer.start { $0.sequencerMaxEvents = 4 }
        defer { Task { await server.stop() } }
        let alice = try await server.createAccount("alice")
        for i in 0..<4 { #expect(try await server.post(alice.did, "p\(i)", token: alice.accessJwt).status == 200) }
        let pruner = SequencerPruner(services: server.services)
        #expect(try await pruner.runOnce() == 3)
        #expect(try await server.sequencedEvents().map(\.seq) == [4, 5, 6, 7])
        // Everything is older than the retention age a week from now.
        #expect(try await pruner.runOnce(now: Date().addingTimeInterval(7 * 86_400)) == 4)
        #expect(try await server.sequencedEvents().isEmpty)
        #expect(try await server.post(alice.did, "after", token: alice.accessJwt).status == 200)
        #expect(try await server.sequencedEvents().map(\.seq) == [8])
    }

    @Test func aLargeBacklogIsPrunedInBatchesOfItsOwnTransactions() async throws {
        let server = try await TestServer.start { $0.sequencerMaxEvents = 2 }
        defer { Task { await server.stop() } }
        let alice = try await server.createAccount("alice")
        for i in 0..<8 { #expect(try await server.post(alice.did, "p\(i)", token: alice.accessJwt).status == 200) }
        // 11 events, 9 beyond the newest 2: three batches of 3 remove them all.
        let pruner = SequencerPruner(services: server.services)
        #expect(try await pruner.runOnce(batch: 3, pause: .zero) == 9)
        #expect(try await server.sequencedEvents().map(\.seq) == [10, 11])
        #expect(try await pruner.runOnce(batch: 3, pause: .zero) == 0)
    }
}
