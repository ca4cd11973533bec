import ATProto
import Foundation
import PDSTestSupport
import Testing

@testable import PDS

@Suite("Invite codes")
struct InviteCodeTests {
    func signUp(_ server: TestServer, _ name: String, code: DataValue?) async throws -> TestServer.Reply {
        var input: DataMap = [
            "handle": .string("\(name).test"), "email": .string("\(name)@example.com"), "password": .string("pass-\(name)"),
        ]
        if let code { input["inviteCode"] = code }
        return try await server.procedure("com.atproto.server.createAccount", .map(input))
    }

    @Test func inviteRequiredServerEndToEnd() async throws {
        let server = try await TestServer.start { $0.inviteRequired = true }
        defer { Task { await server.stop() } }
        #expect(try await server.query("com.atproto.server.describeServer")["inviteCodeRequired"] == true)

        // No code, an unknown code, a code of the wrong type: refused, nothing created.
        let none = try await signUp(server, "dora", code: nil)
        #expect(none.status == 400 && none.error == "InvalidInviteCode")
        let bogus = try await signUp(server, "dora", code: "invite-aaaaa-bbbbb")
        #expect(bogus.status == 400 && bogus.error == "InvalidInviteCode")
        let wrongType = try await signUp(server, "dora", code: 12)
        #expect(wrongType.status == 400 && wrongType.error == "InvalidRequest")
        #expect(try await server.count("SELECT COUNT(*) FROM account") == 0)
        #expect(try await server.count("SELECT COUNT(*) FROM repo_root") == 0)

        // Admin-only creation, with bad inputs refused.
        let bad: [(DataValue, String?, Int, String)] = [
            (["useCount": 2], nil, 401, "AuthRequired"),
            (["useCount": 2], "Basic " + Data("admin:wrong".utf8).base64EncodedString(), 401, "AuthRequired"),
            (["useCount": 0], TestServer.adminAuth, 400, "InvalidRequest"),
            (["useCount": -3], TestServer.adminAuth, 400, "InvalidRequest"),
            (["useCount": "2"], TestServer.adminAuth, 400, "InvalidRequest"),
            ([:], TestServer.adminAuth, 400, "InvalidRequest"),
            (["useCount": 1, "forAccount": "not-a-did"], TestServer.adminAuth, 400, "InvalidRequest"),
        ]
        for (input, auth, status, error) in bad {
            let reply = try await server.adminProcedure("com.atproto.server.createInviteCode", input, authorization: auth)
            #expect(reply.status == status && reply.error == error, "\(input): \(reply.text)")
        }
        #expect(try await server.count("SELECT COUNT(*) FROM invite_code") == 0)
        let made = try await server.adminProcedure("com.atproto.server.createInviteCode", ["useCount": 2])
        #expect(made.status == 200, "\(made.text)")
        let code = try #require(made["code"]?.stringValue)

        // A good code works twice, then it is used up.
        let first = try await signUp(server, "dora", code: .string(code))
        #expect(first.status == 200, "\(first.text)")
        let dora = try #require(first["did"]?.stringValue)
        let doraToken = try #require(first["accessJwt"]?.stringValue)
        let second = try await signUp(server, "eddie", code: .string(code))
        #expect(second.status == 200, "\(second.text)")
        let usedUp = try await signUp(server, "fritz", code: .string(code))
        #expect(usedUp.status == 400 && usedUp.error == "InvalidInviteCode")
        #expect(try await server.count("SELECT COUNT(*) FROM account") == 2)
        #expect(try await server.count("SELECT COUNT(*) FROM invite_code_use WHERE code = ?", [code]) == 2)

        // createInviteCodes for accounts; bad inputs refused.
        let badMany: [DataValue] = [
            ["codeCount": 0, "useCount": 1], ["codeCount": 2], ["codeCount": 2, "useCount": 1, "forAccounts": "x"],
            ["codeCount": 2, "useCount": 1, "forAccounts": ["did:plc:ok", "nope"]], ["codeCount": 5000, "useCount": 1],
        ]
        for input in badMany {
            let reply = try await server.adminProcedure("com.atproto.server.createInviteCodes", input)
            #expect(reply.status == 400 && reply.error == "InvalidRequest", "\(input): \(reply.text)")
        }
        #expect(try await server.count("SELECT COUNT(*) FROM invite_code") == 1)
        let eddie = try #require(second["did"]?.stringValue)
        let many = try await server.adminProcedure(
            "com.atproto.server.createInviteCodes", ["codeCount": 2, "useCount": 1, "forAccounts": [.string(dora), .string(eddie)]])
        #expect(many.status == 200, "\(many.text)")
        let groups = try #require(many["codes"]?.arrayValue)
        #expect(groups.map { $0["account"] } == [.string(dora), .string(eddie)])
        #expect(groups.allSatisfy { $0["codes"]?.arrayValue?.count == 2 })
        let adminDefault = try await server.adminProcedure("com.atproto.server.createInviteCodes", ["useCount": 1])
        #expect(adminDefault["codes"]?[0]?["account"] == "admin" && adminDefault["codes"]?[0]?["codes"]?.arrayValue?.count == 1)

        // The account's own codes, and their uses.
        let own = try await server.query("com.atproto.server.getAccountInviteCodes", token: doraToken)
        #expect(own.status == 200, "\(own.text)")
        let codes = try #require(own["codes"]?.arrayValue)
        #expect(codes.count == 2)
        #expect(codes.allSatisfy { $0["forAccount"]?.stringValue == dora && $0["available"] == 1 && $0["uses"] == [] })
        #expect(codes.allSatisfy { $0["createdBy"] == "admin" && $0["disabled"] == false })
        let doraCode = try #require(codes[0]["code"]?.stringValue)
        let invited = try await signUp(server, "gina", code: .string(doraCode))
        #expect(invited.status == 200)
        let gina = try #require(invited["did"]?.stringValue)
        let withUsed = try await server.query("com.atproto.server.getAccountInviteCodes", token: doraToken)
        let used = withUsed["codes"]?.arrayValue?.first { $0["code"]?.stringValue == doraCode }
        #expect(used?["uses"]?[0]?["usedBy"]?.stringValue == gina)
        let unused = try await server.query("com.atproto.server.getAccountInviteCodes", [("includeUsed", "false")], token: doraToken)
        #expect(unused["codes"]?.arrayValue?.count == 1 && unused["codes"]?[0]?["code"]?.stringValue != doraCode)
        let badParam = try await server.query("com.atproto.server.getAccountInviteCodes", [("includeUsed", "maybe")], token: doraToken)
        #expect(badParam.status == 400 && badParam.error == "InvalidRequest")
        #expect(try await server.query("com.atproto.server.getAccountInviteCodes").status == 401)

        // The admin view shows who invited whom.
        let info = try await server.adminQuery("com.atproto.admin.getAccountInfo", [("did", gina)])
        #expect(info["invitedBy"]?["code"]?.stringValue == doraCode)
        let doraInfo = try await server.adminQuery("com.atproto.admin.getAccountInfo", [("did", dora)])
        #expect(doraInfo["invitedBy"]?["code"]?.stringValue == code && doraInfo["invites"]?.arrayValue?.count == 2)
    }

    @Test func codesAreOptionalWhenNotRequired() async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        #expect(try await signUp(server, "hank", code: nil).status == 200)
        // A code given is still checked and spent.
        #expect(try await signUp(server, "ivan", code: "invite-zzzzz-zzzzz").error == "InvalidInviteCode")
        let code = try #require(try await server.adminProcedure("com.atproto.server.createInviteCode", ["useCount": 1])["code"]?.stringValue)
        #expect(try await signUp(server, "ivan", code: .string(code)).status == 200)
        #expect(try await server.count("SELECT COUNT(*) FROM invite_code_use") == 1)
    }
}
