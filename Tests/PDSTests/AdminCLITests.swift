import ATProto
import Foundation
import PDSTestSupport
import TestSupport
import Testing

@testable import PDS

/// The pdsadmin commands of `pds`: `account delete`, `update-handle`,
/// `update-email`, `invite disable` and `request-crawl`, run as the built
/// binary, with their bad input refused and nothing changed.
@Suite("Admin command line")
struct AdminCLITests {
    @Test func accountAndInviteCommandsOfPdsadmin() async throws {
        #expect(FileManager.default.isExecutableFile(atPath: ProjectTools.pds), "build the pds executable first (swift build)")
        guard FileManager.default.isExecutableFile(atPath: ProjectTools.pds) else { return }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pds-admin-cli-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let data = ["--data-dir", dir]
        func did(of output: String) -> String? {
            output.split(separator: "\n").first { $0.hasPrefix("did:") }.map { String($0.dropFirst(4)).trimmingCharacters(in: .whitespaces) }
        }
        let gina = try #require(did(of: try await ProjectTools.pds(["account", "create", "--handle", "gina.test", "--email", "gina@example.com", "--password", "gina-pass"] + data).out))
        let hank = try #require(did(of: try await ProjectTools.pds(["account", "create", "--handle", "hank.test", "--email", "hank@example.com", "--password", "hank-pass"] + data).out))

        let email = try await ProjectTools.pds(["account", "update-email", "gina.test", "GINA@new.example.com"] + data)
        #expect(email.status == 0 && email.out.contains("gina@new.example.com"), "\(email.err)")
        let takenEmail = try await ProjectTools.pds(["account", "update-email", "gina.test", "hank@example.com"] + data)
        #expect(takenEmail.status != 0 && takenEmail.err.contains("already in use"))
        let badEmail = try await ProjectTools.pds(["account", "update-email", gina, "nope"] + data)
        #expect(badEmail.status != 0 && badEmail.err.contains("not supported"))

        let handle = try await ProjectTools.pds(["account", "update-handle", gina, "gina2.test"] + data)
        #expect(handle.status == 0, "\(handle.err)")
        let takenHandle = try await ProjectTools.pds(["account", "update-handle", gina, "hank.test"] + data)
        #expect(takenHandle.status != 0 && takenHandle.err.contains("HandleNotAvailable"))
        let unknown = try await ProjectTools.pds(["account", "update-handle", "nobody.test", "x.test"] + data)
        #expect(unknown.status != 0 && unknown.err.contains("no account"))

        let codes = try await ProjectTools.pds(["invite", "create", "--count", "2", "--for-account", hank] + data)
        let made = codes.out.split(separator: "\n").map(String.init)
        #expect(made.count == 2)
        let disabled = try await ProjectTools.pds(["invite", "disable", made[0]] + data)
        #expect(disabled.status == 0 && disabled.out.contains("1 invite code disabled"))
        let byAccount = try await ProjectTools.pds(["invite", "disable", "--account", hank] + data)
        #expect(byAccount.out.contains("1 invite code disabled"))
        #expect(try await ProjectTools.pds(["invite", "disable"] + data).status != 0)
        #expect(try await ProjectTools.pds(["invite", "disable", "--account", "admin"] + data).err.contains("cannot disable admin"))

        // delete needs a DID and a confirmation.
        let byHandle = try await ProjectTools.pds(["account", "delete", "hank.test", "--yes"] + data)
        #expect(byHandle.status != 0 && byHandle.err.contains("DID"))
        let unconfirmed = try await ProjectTools.pds(["account", "delete", hank] + data)
        #expect(unconfirmed.status != 0 && unconfirmed.out.contains("nothing deleted"))
        let deleted = try await ProjectTools.pds(["account", "delete", hank, "--yes"] + data)
        #expect(deleted.status == 0 && deleted.out.contains("deleted"), "\(deleted.err)")

        // The server sees every change.
        let server = try await TestServer.start { $0.dataDirectory = dir }
        let gv = try await server.adminQuery("com.atproto.admin.getAccountInfo", [("did", gina)])
        #expect(gv["handle"]?.stringValue == "gina2.test" && gv["email"]?.stringValue == "gina@new.example.com")
        #expect(try await server.adminQuery("com.atproto.admin.getAccountInfo", [("did", hank)]).status == 400)
        let left = try await server.adminQuery("com.atproto.admin.getInviteCodes", [])
        #expect(left["codes"]?.arrayValue?.allSatisfy { $0["disabled"]?.boolValue == true } == true)
        await server.stop(keepData: true)
    }

    @Test func requestCrawlAsksEachRelayAndSaysWhichFailed() async throws {
        guard FileManager.default.isExecutableFile(atPath: ProjectTools.pds) else { return }
        let relay = try await RequestCrawlTests.FakeRelay()
        defer { relay.stop() }
        let config = FileManager.default.temporaryDirectory.appendingPathComponent("pds-crawl-\(UUID().uuidString).json")
        try Data(#"{"hostname": "pds.example.com", "crawlers": ["http://127.0.0.1:\#(relay.port)"]}"#.utf8).write(to: config)
        defer { try? FileManager.default.removeItem(at: config) }
        // The fake relay refuses its first request.
        let refused = try await ProjectTools.pds(["request-crawl", "--config", config.path])
        #expect(refused.status != 0 && refused.err.contains("500"))
        let accepted = try await ProjectTools.pds(["request-crawl", "--config", config.path, "http://127.0.0.1:\(relay.port)"])
        #expect(accepted.status == 0 && accepted.out.contains("accepted"), "\(accepted.err)")
        #expect(relay.recorder.bodies.withLock { $0 } == [#"{"hostname":"pds.example.com"}"#, #"{"hostname":"pds.example.com"}"#])
        let none = try await ProjectTools.pds(["request-crawl"])
        #expect(none.status != 0 && none.err.contains("no relay"))
    }
}
