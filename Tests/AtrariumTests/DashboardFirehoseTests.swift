import ATProto
import Atrarium
import FeedGen
import Foundation
import PDSTestSupport
import Testing

@testable import PDS

/// Every record the dashboard API writes is valid against its Lexicon and
/// is announced on the firehose as a commit of the actor's repository.
@Suite("Atrarium dashboard API: records on the firehose")
struct DashboardFirehoseTests {
    @Test func everyWrittenRecordIsValidAndOnTheFirehose() async throws {
        let (server, _) = try await TestServer.startWithDashboard()
        defer { Task { await server.stop() } }
        let owner = try await server.createAccount("owner")
        let carol = try await server.createAccount("carol")
        // From a cursor, so no event is missed however the subscription races
        // the writes (the feed generator's own in-process subscription comes
        // and goes, so counting subscribers cannot tell when this one started).
        let firehose = try await server.firehose(cursor: try await server.latestSeq(), expectSubscribers: 0)
        defer { firehose.close() }

        let created = try await server.api(
            "POST", "/api/communities", #"{"name": "Firehose", "accessType": "invite-only", "feedMix": {"own": 0.8, "parent": 0, "global": 0.2}}"#,
            token: owner.accessJwt)
        let id = try #require(created["community"]?["id"]?.stringValue)
        #expect(try await server.api("POST", "/api/communities/\(id)/members", nil, token: carol.accessJwt).status == 201)
        #expect(try await server.api("PUT", "/api/communities/\(id)/members/\(carol.did)", #"{"status": "active"}"#, token: owner.accessJwt).status == 200)
        #expect(try await server.api("PUT", "/api/communities/\(id)/members/\(carol.did)", #"{"role": "moderator"}"#, token: owner.accessJwt).status == 200)
        let post = try await server.createPost(owner, "hello #atrarium_\(id)")
        let hidden = try await server.api(
            "POST", "/api/moderation/actions", #"{"community": "\#(id)", "action": "hide_post", "post": "\#(post)"}"#, token: carol.accessJwt)
        #expect(hidden.status == 201, "\(hidden.text)")
        #expect(try await server.api("PUT", "/api/communities/\(id)", #"{"description": "updated"}"#, token: owner.accessJwt).status == 200)

        // Everything the API wrote, read back from the repositories.
        var written: [(uri: String, value: DataValue)] = []
        for session in [owner, carol] {
            for collection in [AtrariumRecords.config.string, AtrariumRecords.membership.string, AtrariumRecords.approval.string, AtrariumRecords.moderationAction.string, "app.bsky.feed.generator"] {
                for record in try await server.records(session.did, collection) {
                    written.append((try #require(record["uri"]?.stringValue), try #require(record["value"])))
                }
            }
        }
        // The owner's config, feed generator record and approval; carol's membership and moderation action.
        #expect(written.count == 5)
        for record in written {
            let collection = String(record.uri.split(separator: "/")[2])
            #expect(try server.services.lexicons.validateRecord(collection: collection, record: record.value) == .valid, "\(record.uri)")
        }
        // Each is a create or update op of a #commit frame of its repository.
        let expected = Set(written.map { uri in
            let parts = uri.uri.split(separator: "/")
            return "\(parts[1]) \(parts[2])/\(parts[3])"
        })
        let frames = try await firehose.collect(timeout: .seconds(10)) { frames in
            let seen = Set(frames.flatMap(Self.paths))
            return expected.isSubset(of: seen)
        }
        #expect(expected.isSubset(of: Set(frames.flatMap(Self.paths))))
    }

    /// `"<repo> <collection>/<rkey>"` of every create or update of a commit frame.
    static func paths(_ frame: FirehoseFrame) -> [String] {
        guard frame.type == "#commit", let repo = frame.body["repo"]?.stringValue else { return [] }
        return (frame.body["ops"]?.arrayValue ?? []).compactMap { op in
            guard let action = op["action"]?.stringValue, action != "delete", let path = op["path"]?.stringValue else { return nil }
            return "\(repo) \(path)"
        }
    }
}
