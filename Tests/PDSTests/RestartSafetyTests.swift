import ATProto
import Foundation
import PDSTestSupport
import TestSupport
import GRDB
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite("Restart safety")
struct RestartSafetyTests {
    @Test func sigkillDuringAWriteBurstLosesNothingAcknowledged() async throws {
        #expect(FileManager.default.isExecutableFile(atPath: ServerProcess.binary), "build the pds binary first")
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("pds-restart-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: data) }
        let first = try await ServerProcess(dataDirectory: data)
        let accounts = [try await first.createAccount("alice"), try await first.createAccount("bob")]
        let subscriber = FirehoseClient(port: first.port, cursor: 0)
        defer { subscriber.close() }

        // Four writers post as fast as they can; the server is killed once
        // 120 writes have been acknowledged.
        let acknowledged = Acknowledgements()
        let writers = (0..<4).map { w in
            Task {
                let session = accounts[w % 2]
                for i in 0..<10_000 {
                    let reply: TestServer.Reply
                    do {
                        reply = try await first.procedure(
                            "com.atproto.repo.createRecord",
                            ["repo": .string(session.did), "collection": "app.bsky.feed.post", "record": postValue("w\(w) #\(i)")],
                            token: session.accessJwt)
                    } catch {
                        return  // the server is gone
                    }
                    guard reply.status == 200, let uri = reply["uri"]?.stringValue, let cid = reply["cid"]?.stringValue,
                        let commit = reply["commit"]?["cid"]?.stringValue
                    else { return }
                    await acknowledged.add(AcknowledgedWrite(uri: uri, cid: cid, commit: commit))
                }
            }
        }
        while await acknowledged.count < 120 { try await Task.sleep(for: .milliseconds(5)) }
        await first.kill()
        for writer in writers { await writer.value }
        let acks = await acknowledged.all
        // The consumer saw a gap-free prefix of the log before its connection dropped.
        let seen = try await subscriber.collect(timeout: .seconds(10)) { _ in false }.compactMap(\.seq)
        #expect(!seen.isEmpty && seen == Array(1...Int64(seen.count)))

        // The log on disk: gap-free, one #commit for every acknowledged write.
        let log = try await Self.log(of: data)
        #expect(log.map(\.seq) == Array(1...Int64(log.count)), "no gap in seq")
        let commits = Set(log.compactMap(\.commit))
        let missing = acks.filter { !commits.contains($0.commit) }
        #expect(missing.isEmpty, "\(missing.count) of \(acks.count) acknowledged writes have no event")

        // A new process on the same data: every acknowledged record is
        // there, a consumer resumes from a cursor with nothing lost or
        // repeated, and writing goes on from the next seq.
        let second = try await ServerProcess(dataDirectory: data)
        defer { Task { await second.stop() } }
        for ack in acks.shuffled().prefix(25) {
            let parts = ack.uri.split(separator: "/")
            let reply = try await second.query(
                "com.atproto.repo.getRecord", [("repo", String(parts[1])), ("collection", String(parts[2])), ("rkey", String(parts[3]))])
            #expect(reply.status == 200 && reply["cid"]?.stringValue == ack.cid)
        }
        let resumeAt = seen.last ?? 0
        #expect(resumeAt <= log.count)
        let resumed = FirehoseClient(port: second.port, cursor: resumeAt)
        defer { resumed.close() }
        let last = Int64(log.count)
        if resumeAt < last {
            let replayed = try await resumed.collect { $0.last?.seq == last }
            #expect(replayed.compactMap(\.seq) == Array((resumeAt + 1)...last))
        }
        let after = try await second.procedure(
            "com.atproto.repo.createRecord",
            ["repo": .string(accounts[0].did), "collection": "app.bsky.feed.post", "record": postValue("after the restart")],
            token: accounts[0].accessJwt)
        #expect(after.status == 200)
        // (A new process on a new port first announces the new endpoint: #identity events.)
        let live = try await resumed.collect { $0.contains { $0.type == "#commit" } }
        #expect(live.compactMap(\.seq) == Array((last + 1)...(last + Int64(live.count))))
        #expect(live.last?.body["commit"]?.linkValue?.string == after["commit"]?["cid"]?.stringValue)
    }

    /// Every event in the log of the data directory: seq, and the commit CID of `#commit` events.
    static func log(of data: URL) async throws -> [(seq: Int64, commit: String?)] {
        let queue = try DatabaseQueue(path: data.appendingPathComponent("pds.sqlite").path)
        return try await queue.read { db in
            try Row.fetchAll(db, sql: "SELECT seq, event_type, event FROM repo_seq ORDER BY seq").map { row -> (Int64, String?) in
                let seq: Int64 = row["seq"]
                guard (row["event_type"] as String) == "#commit" else { return (seq, nil) }
                let body = try DAGCBOR.decode([UInt8](row["event"] as Data))
                return (seq, body["commit"]?.linkValue?.string)
            }
        }
    }
}
