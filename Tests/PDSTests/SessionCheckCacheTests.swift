import ATProto
import Foundation
import GRDB
import PDSTestSupport
import Repo
import Synchronization
import Testing

@testable import PDS

@Suite("Session check cache")
struct SessionCheckCacheTests {
    /// Counts the reads the cache makes.
    final class Reads: Sendable {
        let count = Atomic<Int>(0)
        func read(open: Bool = true, during: () -> Void = {}) -> SessionCheckCache.Answer {
            count.add(1, ordering: .relaxed)
            during()
            return SessionCheckCache.Answer(open: open, account: nil)
        }
        var made: Int { count.load(ordering: .relaxed) }
    }

    @Test func answersAreReusedUntilAnAccountOrSessionChanges() async throws {
        let cache = SessionCheckCache(lifetime: .seconds(600))
        let reads = Reads()
        for _ in 0..<5 { #expect(try await cache.answer(sessionID: "s1", did: try DID("did:plc:a")) { reads.read() }.open) }
        #expect(reads.made == 1)
        // Another session, or the same session ID under another DID, is another answer.
        _ = try await cache.answer(sessionID: "s2", did: try DID("did:plc:a")) { reads.read() }
        _ = try await cache.answer(sessionID: "s1", did: try DID("did:plc:b")) { reads.read(open: false) }
        #expect(reads.made == 3)
        #expect(try await cache.answer(sessionID: "s1", did: try DID("did:plc:b")) { reads.read() }.open == false)
        #expect(reads.made == 3)

        cache.invalidateAll()
        #expect(try await cache.answer(sessionID: "s1", did: try DID("did:plc:a")) { reads.read(open: false) }.open == false)
        #expect(reads.made == 4)
    }

    @Test func anAnswerReadAcrossAChangeIsNotKept() async throws {
        let cache = SessionCheckCache(lifetime: .seconds(600))
        let reads = Reads()
        // The change commits while the read runs: what it read may predate it.
        _ = try await cache.answer(sessionID: "s1", did: try DID("did:plc:a")) { reads.read(during: { cache.invalidateAll() }) }
        #expect(try await cache.answer(sessionID: "s1", did: try DID("did:plc:a")) { reads.read(open: false) }.open == false)
        #expect(reads.made == 2)
        // That second answer, read after the change, is kept.
        #expect(try await cache.answer(sessionID: "s1", did: try DID("did:plc:a")) { reads.read() }.open == false)
        #expect(reads.made == 2)
    }

    @Test func answersAreReadAgainAfterTheirLifetime() async throws {
        let cache = SessionCheckCache(lifetime: .zero)
        let reads = Reads()
        for _ in 0..<3 { _ = try await cache.answer(sessionID: "s1", did: try DID("did:plc:a")) { reads.read() } }
        #expect(reads.made == 3)
    }

    @Test func aFailedReadKeepsNothing() async throws {
        let cache = SessionCheckCache(lifetime: .seconds(600))
        let reads = Reads()
        await #expect(throws: TestError.self) {
            _ = try await cache.answer(sessionID: "s1", did: try DID("did:plc:a")) { throw TestError("disk on fire") }
        }
        _ = try await cache.answer(sessionID: "s1", did: try DID("did:plc:a")) { reads.read() }
        #expect(reads.made == 1)
    }

    /// Over HTTP: a logout or a takedown made through this server refuses
    /// the very next request of a session whose check is cached (as does
    /// revoking an app password, in `AccountLifecycleTests`); a session
    /// ended by another process (the command line) is refused once the
    /// cached answer's second is over.
    @Test func changesReachRequestsOfCachedSessions() async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        func getSession(_ token: String) async throws -> TestServer.Reply {
            try await server.query("com.atproto.server.getSession", token: token)
        }

        // Logout.
        let ann = try await server.createAccount("ann")
        for _ in 0..<3 { #expect(try await getSession(ann.accessJwt).status == 200) }
        #expect(try await server.procedure("com.atproto.server.deleteSession", token: ann.refreshJwt).status == 200)
        let afterLogout = try await getSession(ann.accessJwt)
        #expect(afterLogout.status == 401 && afterLogout.error == "InvalidToken", "\(afterLogout.text)")

        // Takedown by the admin.
        let bea = try await server.createAccount("bea")
        for _ in 0..<3 { #expect(try await getSession(bea.accessJwt).status == 200) }
        let down = try await server.adminProcedure(
            "com.atproto.admin.updateSubjectStatus",
            ["subject": ["$type": "com.atproto.admin.defs#repoRef", "did": .string(bea.did)], "takedown": ["applied": true]])
        #expect(down.status == 200, "\(down.text)")
        #expect(try await server.post(bea.did, "still here?", token: bea.accessJwt).status == 401)

        // Ended by another process: another connection to the database,
        // which this server's observers do not see.
        let cal = try await server.createAccount("cal")
        for _ in 0..<3 { #expect(try await getSession(cal.accessJwt).status == 200) }
        var wait = Configuration()
        wait.busyMode = .timeout(5)  // the server's writer may be busy
        let other = try DatabaseQueue(path: server.dataDirectory.appendingPathComponent("pds.sqlite").path, configuration: wait)
        try await other.write { db in try db.execute(sql: "DELETE FROM refresh_token WHERE did = ?", arguments: [cal.did]) }
        try other.close()
        let ended = ContinuousClock.now
        var refused = false
        while !refused && ContinuousClock.now - ended < .seconds(5) {
            refused = try await getSession(cal.accessJwt).status == 401
            if !refused { try await Task.sleep(for: .milliseconds(50)) }
        }
        #expect(refused, "a session ended by another process was still accepted after 5 s")
    }
}
