import ATProto
import Foundation
import PDSTestSupport
import TestSupport
import Testing

@testable import PDS

/// The `pds account` and `pds invite` commands, run as the built binary
/// against a data directory that a server then opens.
@Suite("Account command line")
struct AccountCLITests {
    @Test func cliManagesAccountsThatTheServerThenServes() async throws {
        #expect(FileManager.default.isExecutableFile(atPath: ProjectTools.pds), "build the pds executable first (swift build)")
        guard FileManager.default.isExecutableFile(atPath: ProjectTools.pds) else { return }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pds-cli-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let data = ["--data-dir", dir]

        // account create, and bad inputs that change nothing.
        let created = try await ProjectTools.pds(["account", "create", "--handle", "erin.test", "--email", "erin@example.com", "--password", "erin-pass"] + data)
        #expect(created.status == 0, "\(created.out)\(created.err)")
        let did = try #require(created.out.split(separator: "\n").first { $0.hasPrefix("did:") }.map {
            String($0.dropFirst(4)).trimmingCharacters(in: .whitespaces)
        })
        #expect(did.hasPrefix("did:plc:") && created.out.contains("handle: erin.test"))
        let badCreates: [([String], String)] = [
            (["--handle", "er.test", "--password", "x"], "InvalidHandle"),
            (["--handle", "erin.test", "--password", "x"], "HandleNotAvailable"),
            (["--handle", "frank.elsewhere", "--password", "x"], "UnsupportedDomain"),
            (["--handle", "frank.test", "--email", "erin@example.com", "--password", "x"], "InvalidRequest"),
            (["--handle", "frank.test", "--password", ""], "InvalidPassword"),
        ]
        for (arguments, error) in badCreates {
            let reply = try await ProjectTools.pds(["account", "create"] + arguments + data)
            #expect(reply.status != 0 && reply.err.contains("error: \(error)"), "\(arguments): \(reply.out)\(reply.err)")
        }

        // account list.
        let list = try await ProjectTools.pds(["account", "list"] + data)
        #expect(list.status == 0, "\(list.err)")
        let lines = list.out.split(separator: "\n")
        #expect(lines.count == 2 && lines[0].hasPrefix("DID"))
        #expect(lines.last?.contains(did) == true && lines.last?.contains("erin.test") == true && lines.last?.contains("active") == true)

        // invite create.
        let invites = try await ProjectTools.pds(["invite", "create", "--uses", "2", "--count", "3"] + data)
        #expect(invites.status == 0, "\(invites.err)")
        let codes = invites.out.split(separator: "\n").map(String.init)
        #expect(codes.count == 3 && Set(codes).count == 3)
        let badInvite = try await ProjectTools.pds(["invite", "create", "--uses", "0"] + data)
        #expect(badInvite.status != 0 && badInvite.err.contains("InvalidRequest"))

        // reset-password with a random password, printed once.
        let reset = try await ProjectTools.pds(["account", "reset-password", "erin.test"] + data)
        #expect(reset.status == 0, "\(reset.err)")
        let newPassword = try #require(reset.out.split(separator: "\n").first { $0.hasPrefix("new password: ") }.map {
            String($0.dropFirst("new password: ".count))
        })
        #expect(newPassword.count >= 20)
        let unknown = try await ProjectTools.pds(["account", "reset-password", "nobody.test", "--password", "x"] + data)
        #expect(unknown.status != 0 && unknown.err.contains("no account"))

        // takedown.
        let down = try await ProjectTools.pds(["account", "takedown", did] + data)
        #expect(down.status == 0 && down.out.contains("takendown"), "\(down.out)\(down.err)")

        // A server on the same data directory (same public URL as the CLI's default config).
        let server = try await TestServer.start {
            $0.dataDirectory = dir
            $0.inviteRequired = true
            $0.publicURL = "http://localhost:2583"
        }
        defer { Task { await server.stop() } }
        let refused = try await server.login("erin.test", newPassword)
        #expect(refused.status == 401 && refused.error == "AccountTakedown")
        #expect(try await server.query("com.atproto.sync.getRepo", [("did", did)]).error == "RepoTakendown")

        // Lifted from the CLI while the server runs: the random password logs in, the old one does not.
        let up = try await ProjectTools.pds(["account", "takedown", "erin.test", "--reverse"] + data)
        #expect(up.status == 0 && up.out.contains("active"), "\(up.out)\(up.err)")
        #expect(try await server.login("erin.test", "erin-pass").status == 401)
        let login = try await server.login("erin@example.com", newPassword)
        #expect(login.status == 200 && login["did"]?.stringValue == did, "\(login.text)")
        let token = try #require(login["accessJwt"]?.stringValue)

        // The CLI-made account is what createAccount makes: a did:plc pointing here with a signed repo.
        let status = try await server.query("com.atproto.server.checkAccountStatus", token: token)
        #expect(status["activated"] == true && status["validDid"] == true && status["indexedRecords"] == 0, "\(status.text)")
        #expect(try await server.post(did, "made on the command line", token: token).status == 200)
        let describe = try await server.query("com.atproto.repo.describeRepo", [("repo", "erin.test")])
        #expect(describe["didDoc"]?["service"]?[0]?["serviceEndpoint"] == "http://localhost:2583")
        // The CLI's invite codes work on the invite-only server.
        var input: DataMap = ["handle": "gus.test", "password": "gus-pass", "inviteCode": .string(codes[0])]
        let gus = try await server.procedure("com.atproto.server.createAccount", .map(input))
        #expect(gus.status == 200, "\(gus.text)")
        input["handle"] = "hal.test"
        #expect(try await server.procedure("com.atproto.server.createAccount", .map(input)).status == 200)
        input["handle"] = "ida.test"
        #expect(try await server.procedure("com.atproto.server.createAccount", .map(input)).error == "InvalidInviteCode")

        // Both ways of creating an account store the same kind of row.
        let cliRow = try await server.services.accounts.account(did: try DID(did))
        let apiRow = try await server.services.accounts.account(did: try DID(gus["did"]?.stringValue ?? ""))
        #expect(cliRow?.signingKey.type == apiRow?.signingKey.type && apiRow?.status == .active)
        #expect(try await server.count("SELECT COUNT(*) FROM account WHERE plc_genesis IS NOT NULL") == 3)

        // list sees the server's accounts too.
        let listed = try await ProjectTools.pds(["account", "list"] + data)
        #expect(listed.out.contains("gus.test") && listed.out.contains("hal.test") && !listed.out.contains("ida.test"))
    }
}
