import ATProto
import CAR
import Foundation
import PDSTestSupport
import Repo
import Testing

@testable import PDS

@Suite("Repository endpoints")
struct RepoEndpointTests {
    static func post(_ n: Int) -> DataValue {
        ["$type": "app.bsky.feed.post", "text": .string("post \(n)"), "createdAt": "2026-11-23T10:00:00.000Z"]
    }

    func rev(_ server: TestServer, _ did: String) async throws -> String? {
        try await server.query("com.atproto.sync.getLatestCommit", [("did", did)])["rev"]?.stringValue
    }

    @Test func createGetListPutDelete() async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let alice = try await server.createAccount("alice")
        var uris: [String] = []
        var lastRev = try await rev(server, alice.did)
        for i in 0..<7 {
            let created = try await server.procedure(
                "com.atproto.repo.createRecord",
                ["repo": .string(alice.did), "collection": "app.bsky.feed.post", "record": Self.post(i)], token: alice.accessJwt)
            #expect(created.status == 200, "\(created.text)")
            let uri = try #require(created["uri"]?.stringValue)
            #expect(uri.hasPrefix("at://\(alice.did)/app.bsky.feed.post/"))
            let commitRev = try #require(created["commit"]?["rev"]?.stringValue)
            #expect(commitRev > lastRev!)
            lastRev = commitRev
            uris.append(uri)
        }
        let rkey = String(uris[2].split(separator: "/").last!)
        let got = try await server.query(
            "com.atproto.repo.getRecord", [("repo", "alice.test"), ("collection", "app.bsky.feed.post"), ("rkey", rkey)])
        #expect(got["value"]?["text"] == "post 2" && got["uri"]?.stringValue == uris[2])
        let wrongCID = try await server.query(
            "com.atproto.repo.getRecord",
            [("repo", alice.did), ("collection", "app.bsky.feed.post"), ("rkey", rkey), ("cid", CID.compute([1]).string)])
        #expect(wrongCID.status == 400 && wrongCID.error == "RecordNotFound")

        // listRecords pages with a cursor, both ways: newest first by
        // default, as the reference PDS lists them.
        var seen: [String] = []
        var cursor: String? = nil
        repeat {
            var params = [("repo", alice.did), ("collection", "app.bsky.feed.post"), ("limit", "3")]
            if let cursor { params.append(("cursor", cursor)) }
            let page = try await server.query("com.atproto.repo.listRecords", params)
            seen += page["records"]?.arrayValue?.compactMap { $0["uri"]?.stringValue } ?? []
            cursor = page["cursor"]?.stringValue
        } while cursor != nil
        #expect(seen == uris.sorted().reversed())
        var oldestFirst: [String] = []
        cursor = nil
        repeat {
            var params = [("repo", alice.did), ("collection", "app.bsky.feed.post"), ("limit", "3"), ("reverse", "true")]
            if let cursor { params.append(("cursor", cursor)) }
            let page = try await server.query("com.atproto.repo.listRecords", params)
            oldestFirst += page["records"]?.arrayValue?.compactMap { $0["uri"]?.stringValue } ?? []
            cursor = page["cursor"]?.stringValue
        } while cursor != nil
        #expect(oldestFirst == uris.sorted())

        // putRecord creates, then updates; swapRecord guards it.
        let profile: DataValue = ["$type": "app.bsky.actor.profile", "displayName": "Alice"]
        let put = try await server.procedure(
            "com.atproto.repo.putRecord",
            ["repo": .string(alice.did), "collection": "app.bsky.actor.profile", "rkey": "self", "record": profile],
            token: alice.accessJwt)
        #expect(put.status == 200)
        let staleSwap = try await server.procedure(
            "com.atproto.repo.putRecord",
            ["repo": .string(alice.did), "collection": "app.bsky.actor.profile", "rkey": "self", "record": profile,
             "swapRecord": .string(CID.compute([2]).string)], token: alice.accessJwt)
        #expect(staleSwap.status == 400 && staleSwap.error == "InvalidSwap")
        let mustNotExist = try await server.procedure(
            "com.atproto.repo.putRecord",
            ["repo": .string(alice.did), "collection": "app.bsky.actor.profile", "rkey": "self", "record": profile,
             "swapRecord": .null], token: alice.accessJwt)
        #expect(mustNotExist.error == "InvalidSwap")
        let goodSwap = try await server.procedure(
            "com.atproto.repo.putRecord",
            ["repo": .string(alice.did), "collection": "app.bsky.actor.profile", "rkey": "self",
             "record": ["$type": "app.bsky.actor.profile", "displayName": "Alice A."], "swapRecord": put["cid"]!],
            token: alice.accessJwt)
        #expect(goodSwap.status == 200)

        // swapCommit must name the current commit.
        let head = try await server.query("com.atproto.sync.getLatestCommit", [("did", alice.did)])
        let badCommit = try await server.procedure(
            "com.atproto.repo.deleteRecord",
            ["repo": .string(alice.did), "collection": "app.bsky.feed.post", "rkey": .string(rkey),
             "swapCommit": .string(CID.compute([3]).string)], token: alice.accessJwt)
        #expect(badCommit.error == "InvalidSwap")
        let deleted = try await server.procedure(
            "com.atproto.repo.deleteRecord",
            ["repo": .string(alice.did), "collection": "app.bsky.feed.post", "rkey": .string(rkey), "swapCommit": head["cid"]!],
            token: alice.accessJwt)
        #expect(deleted.status == 200 && deleted["commit"] != nil)
        let gone = try await server.query(
            "com.atproto.repo.getRecord", [("repo", alice.did), ("collection", "app.bsky.feed.post"), ("rkey", rkey)])
        #expect(gone.error == "RecordNotFound")

        let described = try await server.query("com.atproto.repo.describeRepo", [("repo", "alice.test")])
        #expect(described["collections"] == ["app.bsky.actor.profile", "app.bsky.feed.post"])
        #expect(described["handleIsCorrect"] == true)
    }

    @Test func applyWritesIsAtomic() async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let bob = try await server.createAccount("bob")
        let writes: DataValue = [
            ["$type": "com.atproto.repo.applyWrites#create", "collection": "app.bsky.feed.post", "rkey": "3kaaaaaaaaaa2", "value": Self.post(1)],
            ["$type": "com.atproto.repo.applyWrites#create", "collection": "app.bsky.feed.post", "rkey": "3kaaaaaaaaab2", "value": Self.post(2)],
        ]
        let ok = try await server.procedure(
            "com.atproto.repo.applyWrites", ["repo": .string(bob.did), "writes": writes], token: bob.accessJwt)
        #expect(ok.status == 200 && ok["results"]?.arrayValue?.count == 2)
        #expect(ok["results"]?.arrayValue?.first?["$type"] == "com.atproto.repo.applyWrites#createResult")
        let before = try await rev(server, bob.did)
        // An update of a missing record fails the whole batch: the create before it is not written.
        let mixed: DataValue = [
            ["$type": "com.atproto.repo.applyWrites#create", "collection": "app.bsky.feed.post", "rkey": "3kaaaaaaaaac2", "value": Self.post(3)],
            ["$type": "com.atproto.repo.applyWrites#update", "collection": "app.bsky.feed.post", "rkey": "3kaaaaaaaaad2", "value": Self.post(4)],
        ]
        let failed = try await server.procedure(
            "com.atproto.repo.applyWrites", ["repo": .string(bob.did), "writes": mixed], token: bob.accessJwt)
        #expect(failed.status == 400)
        #expect(try await rev(server, bob.did) == before)
        let three = try await server.query(
            "com.atproto.repo.getRecord", [("repo", bob.did), ("collection", "app.bsky.feed.post"), ("rkey", "3kaaaaaaaaac2")])
        #expect(three.error == "RecordNotFound")
        // More than 200 writes are refused.
        let tooMany = DataValue.array((0..<201).map {
            ["$type": "com.atproto.repo.applyWrites#create", "collection": "app.bsky.feed.like", "rkey": .string("k\($0)"), "value": ["$type": "app.bsky.feed.like"]]
        })
        let refused = try await server.procedure(
            "com.atproto.repo.applyWrites", ["repo": .string(bob.did), "writes": tooMany], token: bob.accessJwt)
        #expect(refused.status == 400)
        #expect(try await rev(server, bob.did) == before)
    }

    @Test func concurrentWritesToOneRepoLoseNothing() async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let carol = try await server.createAccount("carol")
        let revs = try await withThrowingTaskGroup(of: String.self) { group in
            for i in 0..<40 {
                group.addTask {
                    let reply = try await server.procedure(
                        "com.atproto.repo.createRecord",
                        ["repo": .string(carol.did), "collection": "app.bsky.feed.post", "record": Self.post(i)], token: carol.accessJwt)
                    guard reply.status == 200, let rev = reply["commit"]?["rev"]?.stringValue else {
                        throw TestError("write \(i) failed: \(reply.text)")
                    }
                    return rev
                }
            }
            var all: [String] = []
            for try await rev in group { all.append(rev) }
            return all
        }
        #expect(Set(revs).count == 40)
        let repo = try #require(try server.services.repos.repository(did: try DID(carol.did)))
        #expect(try repo.tree().count() == 40)
        // The stored commit's rev is the greatest rev handed out.
        #expect(repo.commit.rev == revs.max())
    }

    @Test func badInputChangesNothing() async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let dan = try await server.createAccount("dan")
        let other = try await server.createAccount("erin")
        let before = try await rev(server, dan.did)
        func create(_ input: DataValue, token: String? = nil) async throws -> TestServer.Reply {
            try await server.procedure("com.atproto.repo.createRecord", input, token: token ?? dan.accessJwt)
        }
        let repo = DataValue.string(dan.did)
        let cases: [(DataValue, Int)] = [
            (["repo": repo, "collection": "not an nsid", "record": Self.post(1)], 400),
            (["repo": repo, "collection": "app.bsky.feed.post", "rkey": "../../etc/passwd", "record": Self.post(1)], 400),
            (["repo": repo, "collection": "app.bsky.feed.post", "rkey": "a/b", "record": Self.post(1)], 400),
            (["repo": repo, "collection": "app.bsky.feed.post", "rkey": "..", "record": Self.post(1)], 400),
            (["repo": repo, "collection": "app.bsky.feed.post", "record": "not an object"], 400),
            (["repo": repo, "collection": "app.bsky.feed.post", "record": ["$type": "app.bsky.feed.like"]], 400),
            (["repo": repo, "collection": "app.bsky.feed.post"], 400),
            (["repo": "did:plc:nosuchaccount000000000000", "collection": "app.bsky.feed.post", "record": Self.post(1)], 400),
            (["repo": "not a did", "collection": "app.bsky.feed.post", "record": Self.post(1)], 400),
            (["repo": .string(other.did), "collection": "app.bsky.feed.post", "record": Self.post(1)], 403),
            (["repo": repo, "collection": "app.bsky.feed.post", "record": Self.post(1), "swapCommit": "nonsense"], 400),
        ]
        for (input, status) in cases {
            let reply = try await create(input)
            #expect(reply.status == status, "\(ATProtoJSON.encodeString(input)) → \(reply.status) \(reply.text)")
            #expect(reply.error != nil)
        }
        #expect(try await create(["repo": repo, "collection": "app.bsky.feed.post", "record": Self.post(1)], token: "bad").status == 401)
        // An oversized body.
        let huge = String(repeating: "x", count: 6 * 1024 * 1024)
        let big = try await create(["repo": repo, "collection": "app.bsky.feed.post", "record": ["$type": "app.bsky.feed.post", "text": .string(huge)]])
        #expect(big.status == 413)
        // Bad query parameters.
        for params in [
            [("repo", "../etc"), ("collection", "app.bsky.feed.post"), ("rkey", "x")],
            [("repo", dan.did), ("collection", "../../x"), ("rkey", "x")],
            [("repo", dan.did), ("collection", "app.bsky.feed.post"), ("rkey", "../x")],
            [("repo", dan.did), ("collection", "app.bsky.feed.post")],
        ] {
            let reply = try await server.query("com.atproto.repo.getRecord", params)
            #expect(reply.status == 400, "\(params) → \(reply.text)")
        }
        let badLimit = try await server.query(
            "com.atproto.repo.listRecords", [("repo", dan.did), ("collection", "app.bsky.feed.post"), ("limit", "1000")])
        #expect(badLimit.status == 400)
        #expect(try await rev(server, dan.did) == before)
    }
}

@Suite("Record validation")
struct RecordValidationTests {
    @Test func recordsAreCheckedAgainstTheirLexicon() async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let alice = try await server.createAccount("alice")
        func create(_ collection: String, _ record: DataValue, rkey: String? = nil, validate: Bool? = nil) async throws -> TestServer.Reply {
            var input: DataMap = ["repo": .string(alice.did), "collection": .string(collection), "record": record]
            if let rkey { input["rkey"] = .string(rkey) }
            if let validate { input["validate"] = .bool(validate) }
            return try await server.procedure("com.atproto.repo.createRecord", .map(input), token: alice.accessJwt)
        }
        let good = try await create("app.bsky.feed.post", RepoEndpointTests.post(1))
        #expect(good.status == 200 && good["validationStatus"] == "valid")
        let tooLong: DataValue = ["$type": "app.bsky.feed.post", "text": .string(String(repeating: "é", count: 301)), "createdAt": "2026-11-23T10:00:00.000Z"]
        let refused = try await create("app.bsky.feed.post", tooLong)
        #expect(refused.status == 400 && refused.text.contains("Record/text must not be longer than 300 graphemes"))
        let noDate = try await create("app.bsky.feed.post", ["$type": "app.bsky.feed.post", "text": "hi"])
        #expect(noDate.status == 400 && noDate.text.contains("createdAt"))
        // A TID-keyed collection refuses other record keys.
        #expect(try await create("app.bsky.feed.post", RepoEndpointTests.post(2), rkey: "not-a-tid").status == 400)
        // Unknown collections are stored unvalidated, unless validation is demanded.
        let unknown = try await create("com.example.thing", ["$type": "com.example.thing", "x": 1])
        #expect(unknown.status == 200 && unknown["validationStatus"] == "unknown")
        #expect(try await create("com.example.thing", ["$type": "com.example.thing"], validate: true).status == 400)
        // validate: false skips the schema (the reference PDS's behaviour).
        let skipped = try await create("app.bsky.feed.post", ["$type": "app.bsky.feed.post", "text": "no date"], validate: false)
        #expect(skipped.status == 200 && skipped["validationStatus"] == nil)
    }
}
