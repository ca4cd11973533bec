import ATCrypto
import ATProto
import Atrarium
import FeedGen
import Foundation
import PDSTestSupport
import Testing

@testable import PDS

/// A community whose owner's repository is on another PDS (its config
/// reached the index as from a Jetstream source): the owner's edits and
/// moderation come back as the writes to make in its own repository, and
/// nothing is written here.
@Suite("Atrarium dashboard API: owners on other PDSs")
struct DashboardRemoteOwnerTests {
    @Test func remoteOwnerGetsTheWritesToMake() async throws {
        let key = PrivateKey.generate(.secp256k1)
        let remote = "did:plc:remoteowner22222222222aa"
        let (server, box) = try await TestServer.startWithDashboard(remote: [remote: key.publicKey])
        defer { Task { await server.stop() } }
        let alice = try await server.createAccount("alice")
        let id = "0a0b0c0d"
        // The remote owner's config, as an ingest source would deliver it.
        let config = AtrariumRecordValues.config(id, access: "invite-only")
        try await box.generator.indexer.apply(
            .record(
                RecordChange(
                    did: remote, collection: AtrariumRecords.config.string, rkey: id, operation: .create,
                    cid: "bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm", record: config)))
        let token = try server.serviceToken(iss: remote, key: key)
        let seen = try await server.api("GET", "/api/communities/\(id)", token: token)
        #expect(seen["community"]?["owner"]?.stringValue == remote && seen["community"]?["role"] == "owner", "\(seen.text)")

        // alice (local) asks to join; the remote owner approves: an approval to write on its PDS.
        #expect(try await server.api("POST", "/api/communities/\(id)/members", nil, token: alice.accessJwt)["status"] == "pending")
        let approve = try await server.api("PUT", "/api/communities/\(id)/members/\(alice.did)", #"{"status": "active"}"#, token: token)
        #expect(approve.status == 202 && approve["write"] == "client" && approve["repo"]?.stringValue == remote, "\(approve.text)")
        let approval = try #require(approve["writes"]?.arrayValue?.first)
        #expect(approval["collection"]?.stringValue == AtrariumRecords.approval.string && approval["value"]?["member"]?.stringValue == alice.did)

        // An edit: the whole new config, as an update of the same record key.
        let edit = try await server.api("PUT", "/api/communities/\(id)", #"{"name": "Renamed", "feedMix": {"own": 0.9, "parent": 0, "global": 0.1}}"#, token: token)
        #expect(edit.status == 202, "\(edit.text)")
        let update = try #require(edit["writes"]?.arrayValue?.first)
        #expect(update["$type"] == "com.atproto.repo.applyWrites#update" && update["rkey"]?.stringValue == id)
        #expect(update["value"]?["name"] == "Renamed" && update["value"]?["feedMix"]?["global"]?.intValue == 10)
        #expect(update["value"]?["hashtag"]?.stringValue == "#atrarium_" + id)
        _ = try AtrariumRecords.checkConfig(try #require(update["value"]))
        // Bad input is still refused before anything is handed back.
        #expect(try await server.api("PUT", "/api/communities/\(id)", #"{"feedMix": {"own": 50}}"#, token: token).status == 400)
        // Moderation by the remote owner: the action record to write.
        let block = try await server.api(
            "POST", "/api/moderation/actions", #"{"community": "\#(id)", "action": "block_user", "user": "\#(alice.did)"}"#, token: token)
        #expect(block.status == 202 && block["writes"]?.arrayValue?.first?["value"]?["action"] == "block_user", "\(block.text)")
        // The index is unchanged: nothing was written on the remote owner's behalf.
        #expect(try await server.api("GET", "/api/communities/\(id)", token: token)["community"]?["name"] == "Herons")
    }
}
