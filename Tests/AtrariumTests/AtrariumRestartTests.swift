import ATProto
import FeedGen
import Foundation
import PDSTestSupport
import Testing

/// The feed generator inside a `pds serve` process killed with SIGKILL
/// while it is indexing: after a restart on the same data, every
/// acknowledged hashtag post is in the feed exactly once.
@Suite("Atrarium restart safety")
struct AtrariumRestartTests {
    @Test func sigkillMidIngestLosesAndDoublesNothing() async throws {
        #expect(FileManager.default.isExecutableFile(atPath: ServerProcess.binary), "build the pds binary first")
        let id = "dead0001"
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("pds-feedgen-restart-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: data) }
        let first = try await ServerProcess(dataDirectory: data)
        let owner = try await first.createAccount("owner")
        let config = try await first.procedure(
            "com.atproto.repo.createRecord",
            ["repo": .string(owner.did), "collection": "net.atrarium.community.config", "record": AtrariumRecordValues.config(id)], token: owner.accessJwt)
        #expect(config.status == 200)

        let acknowledged = Acknowledgements()
        let start = Date().addingTimeInterval(-3600)
        let writers = (0..<3).map { w in
            Task {
                for i in 0..<10_000 {
                    let record: DataValue = [
                        "$type": "app.bsky.feed.post", "text": .string("w\(w) #\(i) #atrarium_\(id)"),
                        "createdAt": .string(ATDatetime.format(start.addingTimeInterval(Double(i * 3 + w) / 1000))),
                    ]
                    guard let reply = try? await first.procedure(
                        "com.atproto.repo.createRecord", ["repo": .string(owner.did), "collection": "app.bsky.feed.post", "record": record],
                        token: owner.accessJwt),
                        reply.status == 200, let uri = reply["uri"]?.stringValue, let cid = reply["cid"]?.stringValue,
                        let commit = reply["commit"]?["cid"]?.stringValue
                    else { return }
                    await acknowledged.add(AcknowledgedWrite(uri: uri, cid: cid, commit: commit))
                }
            }
        }
        while await acknowledged.count < 60 { try await Task.sleep(for: .milliseconds(5)) }
        await first.kill()
        for writer in writers { await writer.value }
        let acks = Set(await acknowledged.all.map(\.uri))

        let second = try await ServerProcess(dataDirectory: data)
        defer { Task { await second.stop() } }
        let feed = FeedGenerator.feedURI(communityID: id, owner: try DID(owner.did))
        var uris: [String] = []
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            uris = []
            var cursor: String?
            repeat {
                var params = [("feed", feed), ("limit", "100")]
                if let cursor { params.append(("cursor", cursor)) }
                let page = try await second.query("app.bsky.feed.getFeedSkeleton", params)
                uris += page["feed"]?.arrayValue?.compactMap { $0["post"]?.stringValue } ?? []
                cursor = page["cursor"]?.stringValue
            } while cursor != nil
            if acks.isSubset(of: Set(uris)) { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(acks.isSubset(of: Set(uris)), "\(acks.subtracting(uris).count) of \(acks.count) acknowledged posts missing")
        #expect(Set(uris).count == uris.count, "no post twice")
        // At most one unacknowledged (in-flight) write per writer made it in.
        #expect(uris.count <= acks.count + 3)
    }
}
