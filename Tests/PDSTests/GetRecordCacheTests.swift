import ATProto
import Foundation
import PDSTestSupport
import Testing

@testable import PDS

/// `com.atproto.repo.getRecord` served from the record cache never answers
/// with what a change has replaced: the change's own request, later
/// requests, and changes made by another process (the CLI) are all seen.
@Suite("getRecord cache")
struct GetRecordCacheTests {
    static func post(_ text: String) -> DataValue {
        ["$type": "app.bsky.feed.post", "text": .string(text), "createdAt": "2026-12-03T10:00:00.000Z"]
    }

    static func get(_ server: TestServer, _ repo: String, _ rkey: String, cid: String? = nil) async throws -> TestServer.Reply {
        var params = [("repo", repo), ("collection", "app.bsky.feed.post"), ("rkey", rkey)]
        if let cid { params.append(("cid", cid)) }
        return try await server.query("com.atproto.repo.getRecord", params)
    }

    static func isCached(_ server: TestServer, _ repo: String, _ rkey: String) -> Bool {
        server.services.recordCache.answer(for: .init(repo: repo, collection: try! NSID("app.bsky.feed.post"), rkey: try! RecordKey(rkey))) != nil
    }

    /// A server whose cache learns of this process's changes only from
    /// the writer's commit (the hub, which also reports them a moment
    /// later, is detached from it): what the tests below check.
    static func serverWithoutHubInvalidation() async throws -> TestServer {
        let server = try await TestServer.start()
        await server.services.sequencer.detach(server.services.recordCache)
        return server
    }

    @Test func aWriteIsReadBackAtOnce() async throws {
        let server = try await Self.serverWithoutHubInvalidation()
        defer { Task { await server.stop() } }
        let alice = try await server.createAccount("alice")
        let put = { (text: String) in
            try await server.procedure(
                "com.atproto.repo.putRecord",
                ["repo": .string(alice.did), "collection": "app.bsky.feed.post", "rkey": "3kcachetest22", "record": Self.post(text)],
                token: alice.accessJwt)
        }
        let first = try await put("first")
        #expect(first.status == 200, "\(first.text)")
        for repo in [alice.did, alice.handle] {
            #expect(try await Self.get(server, repo, "3kcachetest22")["value"]?["text"] == "first")
            #expect(Self.isCached(server, repo, "3kcachetest22"))
            // The second read is the cached answer, byte for byte the same.
            let again = try await Self.get(server, repo, "3kcachetest22")
            #expect(again["value"]?["text"] == "first" && again["uri"]?.stringValue == "at://\(alice.did)/app.bsky.feed.post/3kcachetest22")
        }
        // `cid` is checked against a cached answer too.
        let cid = try #require(first["cid"]?.stringValue)
        #expect(try await Self.get(server, alice.did, "3kcachetest22", cid: cid).status == 200)
        let wrong = try await Self.get(server, alice.did, "3kcachetest22", cid: CID.compute([1]).string)
        #expect(wrong.status == 400 && wrong.error == "RecordNotFound")

        // Each change is visible to the very next read, by DID and by handle.
        for n in 0..<5 {
            #expect(try await put("edit \(n)").status == 200)
            #expect(try await Self.get(server, alice.did, "3kcachetest22")["value"]?["text"] == .string("edit \(n)"))
            #expect(try await Self.get(server, alice.handle, "3kcachetest22")["value"]?["text"] == .string("edit \(n)"))
        }
        let applied = try await server.procedure(
            "com.atproto.repo.applyWrites",
            ["repo": .string(alice.did), "writes": [
                ["$type": "com.atproto.repo.applyWrites#update", "collection": "app.bsky.feed.post", "rkey": "3kcachetest22",
                 "value": Self.post("applied")],
            ]], token: alice.accessJwt)
        #expect(applied.status == 200, "\(applied.text)")
        #expect(try await Self.get(server, alice.did, "3kcachetest22")["value"]?["text"] == "applied")
        let deleted = try await server.procedure(
            "com.atproto.repo.deleteRecord", ["repo": .string(alice.did), "collection": "app.bsky.feed.post", "rkey": "3kcachetest22"],
            token: alice.accessJwt)
        #expect(deleted.status == 200)
        let gone = try await Self.get(server, alice.did, "3kcachetest22")
        #expect(gone.status == 400 && gone.error == "RecordNotFound")
    }

    @Test func aHandleChangeAndADeletionAreSeenAtOnce() async throws {
        let server = try await Self.serverWithoutHubInvalidation()
        defer { Task { await server.stop() } }
        let alice = try await server.createAccount("alice", password: "alice-pass")
        let created = try await server.post(alice.did, "hello", token: alice.accessJwt)
        let rkey = try #require(created["uri"]?.stringValue?.split(separator: "/").last.map(String.init))
        for repo in [alice.did, "alice.test"] {
            #expect(try await Self.get(server, repo, rkey).status == 200)
            #expect(Self.isCached(server, repo, rkey))
        }

        let renamed = try await server.procedure("com.atproto.identity.updateHandle", ["handle": "alice2.test"], token: alice.accessJwt)
        #expect(renamed.status == 200, "\(renamed.text)")
        let oldHandle = try await Self.get(server, "alice.test", rkey)
        #expect(oldHandle.status == 400 && oldHandle.error == "RepoNotFound", "\(oldHandle.text)")
        #expect(try await Self.get(server, "alice2.test", rkey)["value"]?["text"] == "hello")
        #expect(try await Self.get(server, alice.did, rkey)["value"]?["text"] == "hello")
        #expect(Self.isCached(server, alice.did, rkey))

        #expect(try await server.procedure("com.atproto.server.requestAccountDelete", token: alice.accessJwt).status == 200)
        let token = try #require(try await server.emailToken(alice.did, "delete_account"))
        let deleted = try await server.procedure(
            "com.atproto.server.deleteAccount", ["did": .string(alice.did), "password": "alice-pass", "token": .string(token)])
        #expect(deleted.status == 200, "\(deleted.text)")
        for repo in [alice.did, "alice2.test"] {
            let reply = try await Self.get(server, repo, rkey)
            #expect(reply.status == 400 && reply.error == "RepoNotFound", "\(repo): \(reply.text)")
        }
    }

    @Test func aChangeMadeByAnotherProcessReachesTheCache() async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let alice = try await server.createAccount("alice")
        let created = try await server.post(alice.did, "before", token: alice.accessJwt)
        let rkey = try #require(created["uri"]?.stringValue?.split(separator: "/").last.map(String.init))
        // The hub also reports the post's own event, a moment later (more
        // under load), making the first answer stale once: read until cached.
        let cachedBy = Date().addingTimeInterval(10)
        while true {
            #expect(try await Self.get(server, alice.did, rkey)["value"]?["text"] == "before")
            if Self.isCached(server, alice.did, rkey) || Date() > cachedBy { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(Self.isCached(server, alice.did, rkey))

        // Another process on the same data directory, as the CLI is: the
        // server learns of its commit only from the log.
        var config = server.services.config
        config.dataDirectory = server.dataDirectory.path
        let other = try PDSServices(config: config, passwordStrength: .testing)
        _ = try await LocalRepoWriter(services: other).apply(
            did: try DID(alice.did), [.update(collection: try NSID("app.bsky.feed.post"), rkey: try RecordKey(rkey), record: Self.post("after"))])

        var text: DataValue? = nil
        let deadline = Date().addingTimeInterval(15)
        while Date() < deadline {
            text = try await Self.get(server, alice.did, rkey)["value"]?["text"]
            if text == "after" { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(text == "after")
    }

    @Test func aServerWithoutTheCacheAnswersTheSame() async throws {
        let server = try await TestServer.start { $0.recordCacheMegabytes = 0 }
        defer { Task { await server.stop() } }
        let alice = try await server.createAccount("alice")
        let created = try await server.post(alice.did, "uncached", token: alice.accessJwt)
        let rkey = try #require(created["uri"]?.stringValue?.split(separator: "/").last.map(String.init))
        #expect(try await Self.get(server, alice.did, rkey)["value"]?["text"] == "uncached")
        #expect(try await Self.get(server, alice.handle, rkey)["value"]?["text"] == "uncached")
        #expect(!Self.isCached(server, alice.did, rkey))
        #expect(server.services.recordCache.usage.entries == 0)
    }
}
