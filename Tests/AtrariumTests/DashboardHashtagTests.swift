import ATProto
import FeedGen
import Foundation
import GRDB
import Hummingbird
import PDSTestSupport
import Synchronization
import Testing

@testable import Atrarium
@testable import PDS

/// Community ids drawn in a given order (for the collision test).
final class IDSequence: Sendable {
    private let ids: Mutex<[String]>
    init(_ ids: [String]) { self.ids = Mutex(ids) }
    func next() -> String { ids.withLock { $0.isEmpty ? "ffffffff" : $0.removeFirst() } }
}

@Suite("Atrarium dashboard API: hashtags")
struct DashboardHashtagTests {
    @Test func aTakenHashtagIsDrawnAgain() async throws {
        let (server, box) = try await TestServer.startWithFeedGen()
        defer { Task { await server.stop() } }
        let first = try await server.createAccount("first")
        let owner = try await server.createAccount("owner")
        // "first" holds #atrarium_aaaaaaaa, written directly through the PDS.
        _ = try await server.createRecord(first, AtrariumRecords.config.string, AtrariumRecordValues.config("aaaaaaaa"))
        let deadline = ContinuousClock.now + .seconds(5)
        while try await box.generator.pool.read({ db in try Bool.fetchOne(db, sql: "SELECT 1 FROM community WHERE id = 'aaaaaaaa'") }) == nil,
            ContinuousClock.now < deadline
        {
            try await Task.sleep(for: .milliseconds(20))
        }
        let ids = IDSequence(["aaaaaaaa", "not-hex!", "bbbbbbbb"])
        let api = DashboardAPI(
            services: server.services, generator: box.generator, config: DashboardConfig(),
            keyResolver: LocalAccountKeyResolver(accounts: server.services.accounts), drawID: { ids.next() })
        let answer = try await api.createCommunity(
            DashboardRequest(
                caller: DashboardCaller(did: try DID(owner.did), isLocal: true), body: try DashboardBody(bytes: Array(#"{"name": "Second"}"#.utf8)),
                parameters: Parameters(), query: Parameters()))
        #expect(answer.status == .created)
        let created = try ATProtoJSON.decode(answer.body)
        #expect(created["community"]?["id"] == "bbbbbbbb" && created["community"]?["owner"]?.stringValue == owner.did)
        // Only the community it got is in the owner's repository.
        let configs = try await server.records(owner.did, AtrariumRecords.config.string)
        #expect(configs.compactMap { $0["value"]?["hashtag"]?.stringValue } == ["#atrarium_bbbbbbbb"])
    }

    @Test func aHashtagTakenJustBeforeTheWriteIsGivenUp() async throws {
        let (server, box) = try await TestServer.startWithFeedGen()
        defer { Task { await server.stop() } }
        let first = try await server.createAccount("first")
        let owner = try await server.createAccount("owner")
        let ids = IDSequence(["cccccccc", "dddddddd"])
        let api = DashboardAPI(
            services: server.services, generator: box.generator, config: DashboardConfig(),
            keyResolver: LocalAccountKeyResolver(accounts: server.services.accounts), drawID: { ids.next() })
        // "first" claims #atrarium_cccccccc and the API writes at once, before
        // the index has (usually) seen it: the earlier config wins the index,
        // and the API takes its records back and draws again.
        _ = try await server.createRecord(first, AtrariumRecords.config.string, AtrariumRecordValues.config("cccccccc"))
        let answer = try await api.createCommunity(
            DashboardRequest(
                caller: DashboardCaller(did: try DID(owner.did), isLocal: true), body: try DashboardBody(bytes: Array(#"{"name": "Late"}"#.utf8)),
                parameters: Parameters(), query: Parameters()))
        #expect(answer.status == .created)
        #expect(try ATProtoJSON.decode(answer.body)["community"]?["id"] == "dddddddd")
        #expect(try await server.records(owner.did, AtrariumRecords.config.string).compactMap { $0["value"]?["hashtag"]?.stringValue } == ["#atrarium_dddddddd"])
        #expect(try await server.records(owner.did, "app.bsky.feed.generator").compactMap { $0["uri"]?.stringValue }
            == [FeedGenerator.feedURI(communityID: "dddddddd", owner: try DID(owner.did))])
        #expect(try await box.generator.pool.read { db in try String.fetchOne(db, sql: "SELECT owner_did FROM community WHERE id = 'cccccccc'") } == first.did)
    }
}
