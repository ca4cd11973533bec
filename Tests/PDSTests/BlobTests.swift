import ATProto
import Crypto
import Foundation
import PDSTestSupport
import Testing

@testable import PDS

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

@Suite("Blobs")
struct BlobTests {
    @Test func uploadReferenceServeListDeleteAndCollect() async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let alice = try await server.createAccount("alice")
        let png = SampleFiles.png()
        let expectedCID = CID.compute(png, codec: .raw)

        let upload = try await server.uploadBlob(png, contentType: "image/png", token: alice.accessJwt)
        #expect(upload.status == 200)
        let blob = try #require(upload["blob"])
        #expect(blob == BlobRef(ref: expectedCID, mimeType: "image/png", size: Int64(png.count)).dataValue)
        #expect(upload.json?["blob"]?["ref"]?.linkValue == expectedCID)

        let post = try await server.createPost(alice, images: [blob])
        #expect(post.status == 200, "\(post.text)")
        let rkey = try #require(post["uri"]?.stringValue?.split(separator: "/").last.map(String.init))

        let fetched = try await server.query("com.atproto.sync.getBlob", [("did", alice.did), ("cid", expectedCID.string)])
        #expect(fetched.status == 200)
        #expect(fetched.body == png)
        #expect(fetched.headers["content-type"] == "image/png")
        #expect(fetched.headers["content-length"] == String(png.count))
        #expect(fetched.headers["content-security-policy"] == "default-src 'none'; sandbox")
        #expect(fetched.headers["x-content-type-options"] == "nosniff")
        #expect(fetched.headers["cache-control"] == "private")

        let listed = try await server.query("com.atproto.sync.listBlobs", [("did", alice.did)])
        #expect(listed["cids"] == [.string(expectedCID.string)])
        let since = try await server.query("com.atproto.sync.listBlobs", [("did", alice.did), ("since", try #require(await server.rev(alice.did)))])
        #expect(since["cids"] == [])

        // Still referenced: the collector leaves it alone even with no grace period.
        let collector = BlobGarbageCollector(services: server.services, gracePeriod: 0)
        #expect(try await collector.runOnce().deleted.isEmpty)

        let deleted = try await server.procedure(
            "com.atproto.repo.deleteRecord",
            ["repo": .string(alice.did), "collection": "app.bsky.feed.post", "rkey": .string(rkey)], token: alice.accessJwt)
        #expect(deleted.status == 200)
        #expect(try await server.query("com.atproto.sync.listBlobs", [("did", alice.did)])["cids"] == [])

        let report = try await collector.runOnce()
        #expect(report.deleted == [.init(did: try DID(alice.did), cid: expectedCID)])
        #expect(report.filesDeleted == [expectedCID])
        let gone = try await server.query("com.atproto.sync.getBlob", [("did", alice.did), ("cid", expectedCID.string)])
        #expect(gone.status == 400 && gone.error == "BlobNotFound")
        #expect(try server.blobFiles().isEmpty)
    }

    @Test func garbageCollectionKeepsYoungAndReferencedBlobs() async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let alice = try await server.createAccount("alice")
        let old = try await server.uploadedBlob(SampleFiles.png(), token: alice.accessJwt)
        let oldReferenced = try await server.uploadedBlob(SampleFiles.png(), token: alice.accessJwt)
        #expect(try await server.createPost(alice, images: [oldReferenced]).status == 200)
        let young = try await server.uploadedBlob(SampleFiles.png(), token: alice.accessJwt)
        // Age two of them past the (default, one hour) grace period.
        let twoHoursAgo = Int(Date().timeIntervalSince1970) - 7200
        try await server.services.pool.write { db in
            for blob in [old, oldReferenced] {
                try db.execute(
                    sql: "UPDATE blob_ref SET created_at = ? WHERE cid = ?",
                    arguments: [twoHoursAgo, blob["ref"]!.linkValue!.string])
            }
        }
        #expect(try server.blobFiles().count == 3)

        let report = try await BlobGarbageCollector(services: server.services).runOnce()
        let oldCID = try #require(old["ref"]?.linkValue)
        #expect(report.deleted == [.init(did: try DID(alice.did), cid: oldCID)])
        #expect(try server.blobFiles().count == 2)
        for blob in [oldReferenced, young] {
            let cid = try #require(blob["ref"]?.linkValue)
            #expect(try await server.query("com.atproto.sync.getBlob", [("did", alice.did), ("cid", cid.string)]).status == 200)
        }
        // The young one is collected once it, too, is past the grace period.
        let later = try await BlobGarbageCollector(services: server.services).runOnce(now: Date().addingTimeInterval(3700))
        #expect(later.deleted.map(\.cid) == [try #require(young["ref"]?.linkValue)])
    }

    @Test func sharedBlobFileStaysWhileAnotherAccountHoldsIt() async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let alice = try await server.createAccount("alice")
        let bob = try await server.createAccount("bob")
        let png = SampleFiles.png()
        let blob = try await server.uploadedBlob(png, token: alice.accessJwt)
        _ = try await server.uploadedBlob(png, token: bob.accessJwt)
        #expect(try await server.createPost(bob, images: [blob]).status == 200)
        let report = try await BlobGarbageCollector(services: server.services, gracePeriod: 0).runOnce()
        #expect(report.deleted.map(\.did.string) == [alice.did])
        #expect(report.filesDeleted.isEmpty)
        let cid = try #require(blob["ref"]?.linkValue).string
        #expect(try await server.query("com.atproto.sync.getBlob", [("did", bob.did), ("cid", cid)]).body == png)
        #expect(try await server.query("com.atproto.sync.getBlob", [("did", alice.did), ("cid", cid)]).error == "BlobNotFound")
    }

    @Test func recordsMayOnlyReferenceTheirOwnUploadedBlobs() async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let alice = try await server.createAccount("alice")
        let bob = try await server.createAccount("bob")
        let revBefore = try await server.rev(alice.did)

        let neverUploaded = BlobRef(ref: CID.compute(SampleFiles.png(), codec: .raw), mimeType: "image/png", size: 100)
        let refused = try await server.createPost(alice, images: [neverUploaded.dataValue])
        #expect(refused.status == 400 && refused.error == "InvalidRequest")
        #expect(refused["message"]?.stringValue == "Could not find blob: \(neverUploaded.ref.string)")

        let bobs = try await server.uploadedBlob(SampleFiles.png(), token: bob.accessJwt)
        let notHers = try await server.createPost(alice, images: [bobs])
        #expect(notHers.status == 400 && notHers.error == "InvalidRequest")

        // One bad blob among good ones: applyWrites writes nothing.
        let hers = try await server.uploadedBlob(SampleFiles.png(), token: alice.accessJwt)
        let post: DataValue = [
            "$type": "app.bsky.feed.post", "text": "x", "createdAt": "2024-01-01T00:00:00.000Z",
            "embed": ["$type": "app.bsky.embed.images", "images": [["image": hers, "alt": ""], ["image": bobs, "alt": ""]]],
        ]
        let batch = try await server.procedure(
            "com.atproto.repo.applyWrites",
            ["repo": .string(alice.did), "writes": [
                ["$type": "com.atproto.repo.applyWrites#create", "collection": "app.bsky.feed.post", "value": post],
            ]], token: alice.accessJwt)
        #expect(batch.status == 400)

        var wrongType = try #require(hers.mapValue)
        wrongType["mimeType"] = "image/jpeg"
        let mismatch = try await server.createPost(alice, images: [.map(wrongType)])
        #expect(mismatch.status == 400 && mismatch.error == "InvalidMimeType")

        #expect(try await server.rev(alice.did) == revBefore)
        #expect(try await server.query("com.atproto.sync.listBlobs", [("did", alice.did)])["cids"] == [])
        let records = try await server.query(
            "com.atproto.repo.listRecords", [("repo", alice.did), ("collection", "app.bsky.feed.post")])
        #expect(records["records"] == [])
    }

    @Test func updatesReplaceTheRecordsBlobUsage() async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let alice = try await server.createAccount("alice")
        let first = try await server.uploadedBlob(SampleFiles.png(), token: alice.accessJwt)
        let second = try await server.uploadedBlob(SampleFiles.png(), token: alice.accessJwt)
        #expect(try await server.createPost(alice, images: [first], rkey: "3kabcabcabc22").status == 200)
        let put = try await server.procedure(
            "com.atproto.repo.putRecord",
            ["repo": .string(alice.did), "collection": "app.bsky.feed.post", "rkey": "3kabcabcabc22",
             "record": ["text": "avatar", "createdAt": "2024-01-01T00:00:00.000Z", "nested": [["deep": [second]]]]],
            token: alice.accessJwt)
        #expect(put.status == 200, "\(put.text)")
        let listed = try await server.query("com.atproto.sync.listBlobs", [("did", alice.did)])
        #expect(listed["cids"] == [.string(try #require(second["ref"]?.linkValue).string)])
        let report = try await BlobGarbageCollector(services: server.services, gracePeriod: 0).runOnce()
        #expect(report.deleted.map(\.cid) == [try #require(first["ref"]?.linkValue)])
    }

    @Test func uploadsOverTheLimitAreRefusedAndLeaveNoFile() async throws {
        let server = try await TestServer.start { $0.blobUploadLimit = 1000 }
        defer { Task { await server.stop() } }
        let alice = try await server.createAccount("alice")

        let declared = try await server.uploadBlob(SampleFiles.random(5000), token: alice.accessJwt)
        #expect(declared.status == 413 && declared.error == "PayloadTooLarge")

        // Without Content-Length (chunked): counted as the bytes arrive.
        var request = URLRequest(url: URL(string: server.baseURL + "/xrpc/com.atproto.repo.uploadBlob")!)
        request.httpMethod = "POST"
        request.setValue("Bearer \(alice.accessJwt)", forHTTPHeaderField: "Authorization")
        request.setValue("application/octet-stream", forHTTPHeaderField: "Content-Type")
        request.httpBodyStream = InputStream(data: Data(SampleFiles.random(50_000)))
        let (data, response) = try await URLSession.shared.data(for: request)
        #expect((response as? HTTPURLResponse)?.statusCode == 413, "\(String(decoding: data, as: UTF8.self))")

        #expect(try server.blobFiles().isEmpty)
        let exact = try await server.uploadBlob(SampleFiles.random(1000), token: alice.accessJwt)
        #expect(exact.status == 200)
    }

    @Test func quotaIsEnforcedPerAccount() async throws {
        let server = try await TestServer.start { $0.blobQuotaPerAccount = 3000 }
        defer { Task { await server.stop() } }
        let alice = try await server.createAccount("alice")
        let bob = try await server.createAccount("bob")
        let first = SampleFiles.random(2000)
        #expect(try await server.uploadBlob(first, token: alice.accessJwt).status == 200)
        let over = try await server.uploadBlob(SampleFiles.random(2000), token: alice.accessJwt)
        #expect(over.status == 400 && over.error == "InvalidRequest")
        #expect(over["message"]?.stringValue?.contains("quota") == true)
        // The same bytes again do not count twice; another account has its own quota.
        #expect(try await server.uploadBlob(first, token: alice.accessJwt).status == 200)
        #expect(try await server.uploadBlob(SampleFiles.random(2000), token: bob.accessJwt).status == 200)
        #expect(try server.blobFiles().count == 2)
    }

    @Test func uploadsAreRateLimitedPerAccount() async throws {
        let server = try await TestServer.start { $0.rateLimits.uploadsPerHour = 2 }
        defer { Task { await server.stop() } }
        let alice = try await server.createAccount("alice")
        for _ in 0..<2 { #expect(try await server.uploadBlob(SampleFiles.random(10), token: alice.accessJwt).status == 200) }
        let limited = try await server.uploadBlob(SampleFiles.random(10), token: alice.accessJwt)
        #expect(limited.status == 429 && limited.error == "RateLimitExceeded")
        let anonymous = try await server.request("POST", "/xrpc/com.atproto.repo.uploadBlob", body: [1, 2, 3])
        #expect(anonymous.status == 401)
    }

    @Test func fiveMegabytesStreamInAndOut() async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let alice = try await server.createAccount("alice")
        let big = SampleFiles.mp4() + SampleFiles.random(5 * 1024 * 1024)
        let blob = try await server.uploadedBlob(big, token: alice.accessJwt)
        #expect(blob["size"] == .int(Int64(big.count)))
        #expect(blob["mimeType"] == "video/mp4")
        let cid = try #require(blob["ref"]?.linkValue)
        #expect(cid == CID(codec: .raw, digest: Array(SHA256.hash(data: big))))
        let fetched = try await server.query("com.atproto.sync.getBlob", [("did", alice.did), ("cid", cid.string)])
        #expect(fetched.status == 200 && fetched.body.count == big.count && fetched.body == big)
    }

    @Test(arguments: [
        ("jpeg", "image/jpeg"), ("png", "image/png"), ("gif", "image/gif"), ("webp", "image/webp"), ("mp4", "video/mp4"),
    ])
    func mimeTypesAreSniffedNotTrusted(format: String, expected: String) async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let alice = try await server.createAccount("alice")
        let bytes: [UInt8] =
            switch format {
            case "jpeg": SampleFiles.jpeg()
            case "png": SampleFiles.png()
            case "gif": SampleFiles.gif()
            case "webp": SampleFiles.webp()
            default: SampleFiles.mp4()
            }
        let blob = try await server.uploadedBlob(bytes, contentType: "text/html", token: alice.accessJwt)
        #expect(blob["mimeType"]?.stringValue == expected)
        let cid = try #require(blob["ref"]?.linkValue).string
        let fetched = try await server.query("com.atproto.sync.getBlob", [("did", alice.did), ("cid", cid)])
        #expect(fetched.headers["content-type"] == expected)
    }

    @Test func unknownContentFallsBackToTheDeclaredType() async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let alice = try await server.createAccount("alice")
        let text = try await server.uploadedBlob(Array("just text".utf8), contentType: "Text/Plain; charset=utf-8", token: alice.accessJwt)
        #expect(text["mimeType"] == "text/plain")
        let junk = try await server.uploadedBlob(Array("more text".utf8), contentType: "not a type", token: alice.accessJwt)
        #expect(junk["mimeType"] == "application/octet-stream")
        #expect(MIMESniffer.mimeType(head: [1, 2, 3], declared: nil) == "application/octet-stream")
        #expect(MIMESniffer.detect(Array("ID3".utf8) + [3, 0]) == "audio/mpeg")
        #expect(MIMESniffer.detect([0x1A, 0x45, 0xDF, 0xA3] + Array("\u{42}\u{82}\u{84}webm".utf8)) == "video/webm")
        #expect(MIMESniffer.detect([0, 0, 0, 0x18] + Array("ftypqt  ".utf8)) == "video/quicktime")
        #expect(MIMESniffer.detect([0, 0, 0, 0x18] + Array("ftypheic".utf8)) == "image/heic")
        #expect(MIMESniffer.detect([0, 0, 0, 0x18] + Array("ftypavif".utf8)) == "image/avif")
        #expect(MIMESniffer.detect(Array("OggS".utf8)) == "audio/ogg")
        #expect(MIMESniffer.detect(Array("RIFF\0\0\0\0WAVE".utf8)) == "audio/wav")
    }

    @Test func badParametersAreRefusedAndNeverEscapeTheBlobDirectory() async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let alice = try await server.createAccount("alice")
        let cid = try #require(try await server.uploadedBlob(SampleFiles.png(), token: alice.accessJwt)["ref"]?.linkValue)
        for bad in ["../../etc/passwd", "..%2F..%2Fetc%2Fpasswd", "/etc/passwd", "b../../pds.sqlite", "bafy", "", cid.string + "/.."] {
            let reply = try await server.query("com.atproto.sync.getBlob", [("did", alice.did), ("cid", bad)])
            #expect(reply.status == 400 && reply.error == "InvalidRequest", "cid \(bad): \(reply.status) \(reply.text)")
        }
        for bad in ["../../etc/passwd", "did:plc:nobody", "not-a-did"] {
            let reply = try await server.query("com.atproto.sync.getBlob", [("did", bad), ("cid", cid.string)])
            #expect(reply.status == 400, "did \(bad)")
        }
        let other = CID.compute([1, 2, 3], codec: .raw)
        #expect(try await server.query("com.atproto.sync.getBlob", [("did", alice.did), ("cid", other.string)]).error == "BlobNotFound")
        let dagCBOR = CID.compute(SampleFiles.png(), codec: .dagCBOR)
        #expect(try await server.query("com.atproto.sync.getBlob", [("did", alice.did), ("cid", dagCBOR.string)]).error == "BlobNotFound")
        for query in [[("limit", "0")], [("limit", "1001")], [("cursor", "../x")], [("since", "yesterday")]] {
            let reply = try await server.query("com.atproto.sync.listBlobs", [("did", alice.did)] + query)
            #expect(reply.status == 400 && reply.error == "InvalidRequest", "\(query)")
        }
        #expect(try await server.query("com.atproto.sync.listBlobs", [("did", "../..")]).status == 400)
        let store = try FileBlobStore(root: server.dataDirectory.appendingPathComponent("blobs"))
        #expect(store.path(for: cid).path.hasPrefix(server.dataDirectory.appendingPathComponent("blobs").path + "/"))
    }

    @Test func deactivatedAndTakendownReposAreNotServed() async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let alice = try await server.createAccount("alice")
        let cid = try #require(try await server.uploadedBlob(SampleFiles.png(), token: alice.accessJwt)["ref"]?.linkValue)
        for (status, error) in [("deactivated", "RepoDeactivated"), ("takendown", "RepoTakendown")] {
            try await server.services.pool.write { db in
                try db.execute(sql: "UPDATE account SET status = ? WHERE did = ?", arguments: [status, alice.did])
            }
            let blob = try await server.query("com.atproto.sync.getBlob", [("did", alice.did), ("cid", cid.string)])
            #expect(blob.status == 400 && blob.error == error)
            let list = try await server.query("com.atproto.sync.listBlobs", [("did", alice.did)])
            #expect(list.status == 400 && list.error == error)
        }
    }

    @Test func listBlobsPages() async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let alice = try await server.createAccount("alice")
        var blobs: [DataValue] = []
        for _ in 0..<5 { blobs.append(try await server.uploadedBlob(SampleFiles.png(), token: alice.accessJwt)) }
        #expect(try await server.createPost(alice, images: Array(blobs[0..<4])).status == 200)
        #expect(try await server.createPost(alice, images: [blobs[4], blobs[0]]).status == 200)
        var seen: [String] = []
        var cursor: String?
        repeat {
            let page = try await server.query(
                "com.atproto.sync.listBlobs", [("did", alice.did), ("limit", "2")] + (cursor.map { [("cursor", $0)] } ?? []))
            seen += page["cids"]?.arrayValue?.compactMap(\.stringValue) ?? []
            cursor = page["cursor"]?.stringValue
        } while cursor != nil
        #expect(seen == blobs.map { $0["ref"]!.linkValue!.string }.sorted())
    }
}
