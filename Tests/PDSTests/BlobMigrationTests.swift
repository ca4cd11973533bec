import ATProto
import Foundation
import PDSTestSupport
import Testing

@testable import PDS

@Suite("Account migration: importRepo and listMissingBlobs")
struct BlobMigrationTests {
    /// Alice's repository on `old`: two posts with three images between them.
    static func populatedRepo(on old: TestServer) async throws -> (TestServer.Session, [[UInt8]], [UInt8]) {
        let alice = try await old.createAccount("alice")
        let files = [SampleFiles.png(), SampleFiles.jpeg(), SampleFiles.gif()]
        var blobs: [DataValue] = []
        for file in files { blobs.append(try await old.uploadedBlob(file, token: alice.accessJwt)) }
        #expect(try await old.createPost(alice, text: "one", images: [blobs[0], blobs[1]]).status == 200)
        #expect(try await old.createPost(alice, text: "two", images: [blobs[2]]).status == 200)
        let car = try await old.query("com.atproto.sync.getRepo", [("did", alice.did)])
        #expect(car.status == 200)
        return (alice, files, car.body)
    }

    func importRepo(_ server: TestServer, _ car: [UInt8], token: String) async throws -> TestServer.Reply {
        try await server.request(
            "POST", "/xrpc/com.atproto.repo.importRepo", body: car, contentType: "application/vnd.ipld.car",
            headers: ["Authorization": "Bearer \(token)"])
    }

    @Test func importThenUploadTheMissingBlobs() async throws {
        let old = try await TestServer.start()
        let new = try await TestServer.start()
        defer { Task { await old.stop(); await new.stop() } }
        let (alice, files, car) = try await Self.populatedRepo(on: old)

        let moved = try await new.createAccount(did: alice.did, name: "alice2", key: try await old.signingKey(alice.did))
        let imported = try await importRepo(new, car, token: moved.accessJwt)
        #expect(imported.status == 200, "\(imported.text)")
        #expect(try await new.rev(alice.did) == (try await old.rev(alice.did)))
        // The import is announced on the firehose as a #sync of the new commit.
        let events = try await new.sequencedEvents().filter { $0.did.string == alice.did }
        #expect(events.map(\.type) == ["#sync"])
        #expect(try events.first?.body()["rev"]?.stringValue == (try await old.rev(alice.did)))
        let records = try await new.query(
            "com.atproto.repo.listRecords", [("repo", alice.did), ("collection", "app.bsky.feed.post")])
        #expect(records["records"]?.arrayValue?.count == 2)

        let expected = files.map { CID.compute($0, codec: .raw).string }.sorted()
        let missing = try await new.query("com.atproto.repo.listMissingBlobs", token: moved.accessJwt)
        #expect(missing.status == 200)
        let entries = try #require(missing["blobs"]?.arrayValue)
        #expect(entries.compactMap { $0["cid"]?.stringValue } == expected)
        #expect(entries.allSatisfy { $0["recordUri"]?.stringValue?.hasPrefix("at://\(alice.did)/app.bsky.feed.post/") == true })
        let paged = try await new.query("com.atproto.repo.listMissingBlobs", [("limit", "2")], token: moved.accessJwt)
        #expect(paged["blobs"]?.arrayValue?.count == 2 && paged["cursor"]?.stringValue == expected[1])
        #expect(try await new.query("com.atproto.sync.listBlobs", [("did", alice.did)])["cids"] == .array(expected.map { .string($0) }))

        for (i, file) in files.enumerated() {
            let bytes = try await old.query("com.atproto.sync.getBlob", [("did", alice.did), ("cid", CID.compute(file, codec: .raw).string)])
            #expect(bytes.body == file)
            _ = try await new.uploadedBlob(bytes.body, token: moved.accessJwt)
            let left = try await new.query("com.atproto.repo.listMissingBlobs", token: moved.accessJwt)
            #expect(left["blobs"]?.arrayValue?.count == files.count - i - 1)
        }
        // Imported references count: the collector keeps the uploads, and new
        // records may reference them.
        #expect(try await BlobGarbageCollector(services: new.services, gracePeriod: 0).runOnce().deleted.isEmpty)
        let blob = BlobRef(ref: CID.compute(files[0], codec: .raw), mimeType: "image/png", size: Int64(files[0].count))
        #expect(try await new.createPost(moved, text: "three", images: [blob.dataValue]).status == 200)
        #expect(try new.blobFiles().count == 3)
    }

    @Test func importWorksForADeactivatedAccountButNotWithoutAuth() async throws {
        let old = try await TestServer.start()
        let new = try await TestServer.start()
        defer { Task { await old.stop(); await new.stop() } }
        let (alice, _, car) = try await Self.populatedRepo(on: old)
        let moved = try await new.createAccount(did: alice.did, name: "alice2", key: try await old.signingKey(alice.did))
        try await new.services.pool.write { db in
            try db.execute(sql: "UPDATE account SET status = 'deactivated' WHERE did = ?", arguments: [alice.did])
        }
        #expect(try await new.request("POST", "/xrpc/com.atproto.repo.importRepo", body: car).status == 401)
        #expect(try await importRepo(new, car, token: moved.accessJwt).status == 200)
        #expect(try await new.query("com.atproto.repo.listMissingBlobs", token: moved.accessJwt)["blobs"]?.arrayValue?.count == 3)
    }

    @Test func corruptOrForeignRepositoriesAreRefusedAndChangeNothing() async throws {
        let old = try await TestServer.start()
        let new = try await TestServer.start { $0.repoImportLimit = 64 * 1024 }
        defer { Task { await old.stop(); await new.stop() } }
        let (alice, _, car) = try await Self.populatedRepo(on: old)
        let bob = try await new.createAccount("bob")
        let png = try await new.uploadedBlob(SampleFiles.png(), token: bob.accessJwt)
        #expect(try await new.createPost(bob, images: [png]).status == 200)
        let revBefore = try await new.rev(bob.did)

        var flipped = car
        flipped[flipped.count - 10] ^= 0xFF
        let attempts: [(String, [UInt8])] = [
            ("garbage", Array("this is not a CAR".utf8)), ("truncated", Array(car.prefix(car.count / 2))),
            ("flipped byte", flipped), ("another account's repo", car), ("empty", []),
        ]
        for (what, body) in attempts {
            let reply = try await importRepo(new, body, token: bob.accessJwt)
            #expect(reply.status == 400 && reply.error == "InvalidRequest", "\(what): \(reply.status) \(reply.text)")
        }
        let tooBig = try await importRepo(new, car + SampleFiles.random(64 * 1024), token: bob.accessJwt)
        #expect(tooBig.status == 413)

        #expect(try await new.rev(bob.did) == revBefore)
        let records = try await new.query("com.atproto.repo.listRecords", [("repo", bob.did), ("collection", "app.bsky.feed.post")])
        #expect(records["records"]?.arrayValue?.count == 1)
        #expect(try await new.query("com.atproto.sync.listBlobs", [("did", bob.did)])["cids"]?.arrayValue?.count == 1)
        #expect(try await new.query("com.atproto.repo.listMissingBlobs", token: bob.accessJwt)["blobs"] == [])
        #expect(try new.blobFiles().count == 1)
        _ = alice
    }
}
