import ATProto
import CAR
import Foundation
import ATCrypto
import PDSTestSupport
import Repo
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// `pds serve` killed with SIGKILL at random moments under concurrent
/// writers, several times over one data directory: nothing acknowledged is
/// lost, revs only move forward, the log stays gap-free and every
/// repository still verifies.
@Suite("Crash safety")
struct CrashSafetyTests {
    static let rounds = 4

    @Test func repeatedSigkillsUnderConcurrentWritersLoseNothingAcknowledged() async throws {
        #expect(FileManager.default.isExecutableFile(atPath: ServerProcess.binary), "build the pds binary first")
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("pds-crash-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: data) }
        var server = try await ServerProcess(dataDirectory: data)
        let accounts = [try await server.createAccount("alice"), try await server.createAccount("bob"),
                        try await server.createAccount("carol")]
        let acknowledged = Acknowledgements()
        var generator = SystemRandomNumberGenerator()
        var latestRevs: [String: String] = [:]

        for round in 0..<Self.rounds {
            // Six writers, two per account, write until the process dies, at
            // a moment drawn up to 1 s after the round's 15th acknowledgement.
            let process = server
            let writers = (0..<6).map { w in
                Task {
                    let session = accounts[w % accounts.count]
                    for i in 0..<100_000 {
                        guard let reply = try? await process.procedure(
                            "com.atproto.repo.createRecord",
                            ["repo": .string(session.did), "collection": "app.bsky.feed.post",
                             "record": postValue("round \(round) writer \(w) #\(i)")],
                            token: session.accessJwt),
                            reply.status == 200, let uri = reply["uri"]?.stringValue, let cid = reply["cid"]?.stringValue,
                            let commit = reply["commit"]?["cid"]?.stringValue, let rev = reply["commit"]?["rev"]?.stringValue
                        else { return }
                        await acknowledged.add(AcknowledgedWrite(uri: uri, cid: cid, commit: commit), rev: rev, did: session.did)
                    }
                }
            }
            // At least 15 writes acknowledged in the round first (on a
            // loaded machine 0.2 s may see none), then a random moment.
            let before = await acknowledged.all.count
            let deadline = ContinuousClock.now + .seconds(30)
            while await acknowledged.all.count < before + 15, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(10))
            }
            try await Task.sleep(for: .milliseconds(Int.random(in: 0...1000, using: &generator)))
            await server.kill()
            for writer in writers { await writer.value }

            server = try await ServerProcess(dataDirectory: data)
            // Each repository is at least at the last rev acknowledged for it,
            // and never behind what an earlier restart showed.
            for account in accounts {
                let rev = try #require(try await server.query("com.atproto.sync.getLatestCommit", [("did", account.did)])["rev"]?.stringValue)
                if let acked = await acknowledged.latestRev[account.did] { #expect(rev >= acked, "round \(round): \(rev) < \(acked)") }
                if let before = latestRevs[account.did] { #expect(rev >= before) }
                latestRevs[account.did] = rev
            }
        }
        defer { Task { [server] in await server.stop() } }
        let acks = await acknowledged.all
        #expect(acks.count > 50, "only \(acks.count) writes were acknowledged")

        // Every acknowledged record is there, with its CID.
        for ack in acks {
            let parts = ack.uri.split(separator: "/")
            let reply = try await server.query(
                "com.atproto.repo.getRecord", [("repo", String(parts[1])), ("collection", String(parts[2])), ("rkey", String(parts[3]))])
            #expect(reply.status == 200 && reply["cid"]?.stringValue == ack.cid, "\(ack.uri)")
        }

        // The firehose replayed from 0: consecutive seqs, each acknowledged
        // commit announced, and revs per repository strictly increasing.
        let last = Int64(try await RestartSafetyTests.log(of: data).count)
        let replay = FirehoseClient(port: server.port, cursor: 0)
        defer { replay.close() }
        let frames = try await replay.collect(timeout: .seconds(60)) { $0.last?.seq == last }
        #expect(frames.compactMap(\.seq) == Array(1...last))
        let announced = Set(frames.compactMap { $0.body["commit"]?.linkValue?.string })
        #expect(acks.allSatisfy { announced.contains($0.commit) })
        var revs: [String: String] = [:]
        for frame in frames where frame.type == "#commit" {
            let did = try #require(frame.body["repo"]?.stringValue)
            let rev = try #require(frame.body["rev"]?.stringValue)
            if let previous = revs[did] { #expect(rev > previous, "\(did): \(rev) after \(previous)") }
            revs[did] = rev
        }

        // Every repository verifies, signed by its account's key.
        for account in accounts {
            let car = try await server.query("com.atproto.sync.getRepo", [("did", account.did)])
            #expect(car.status == 200)
            let key = try #require(try await server.query("com.atproto.server.getSession", token: account.accessJwt)
                .json?["didDoc"]?["verificationMethod"]?.arrayValue?.first?["publicKeyMultibase"]?.stringValue)
            let verified = try RepoVerifier.verifyCAR(
                InMemoryByteSource(car.body), expectedDID: try DID(account.did), key: try PublicKey(multikey: key))
            #expect(verified.signatureVerified && verified.rev == latestRevs[account.did])
        }
    }
}
