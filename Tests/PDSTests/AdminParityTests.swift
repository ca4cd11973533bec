import ATProto
import Foundation
import PDSTestSupport
import Testing

@testable import PDS

/// The admin methods of the reference PDS beside takedowns, and the
/// pdsadmin commands of `pds`: each with its bad input refused and nothing
/// changed.
@Suite struct AdminParityTests {
    static let unknownDID = "did:plc:" + String(repeating: "q", count: 24)

    @Test func accountChangesByTheOperator() async throws {
        let server = try await TestServer.start()
        let alice = try await server.createAccount("alice")
        let bob = try await server.createAccount("bob")

        // updateAccountEmail: unconfirmed afterwards, pending tokens gone.
        _ = try await server.procedure("com.atproto.server.requestEmailConfirmation", token: alice.accessJwt)
        #expect(try await server.adminProcedure("com.atproto.admin.updateAccountEmail", ["account": .string(alice.did), "email": "Alice2@Example.com"]).status == 200)
        let infos = try await server.adminQuery("com.atproto.admin.getAccountInfos", [("dids", alice.did), ("dids", Self.unknownDID), ("dids", bob.did)])
        let views = try #require(infos["infos"]?.arrayValue)
        #expect(views.count == 2 && views[0]["email"]?.stringValue == "alice2@example.com" && views[1]["handle"]?.stringValue == "bob.test")
        #expect(views[0]["invitesDisabled"]?.boolValue == false && views[0]["indexedAt"] != nil)
        #expect(try await server.emailToken(alice.did, "confirm_email") == nil)
        for (input, error) in [
            (["account": .string(Self.unknownDID), "email": "x@example.com"], "AccountNotFound"),
            (["account": .string(alice.did), "email": "not an email"], "InvalidRequest"),
            (["account": .string(alice.did), "email": "bob@example.com"], "InvalidRequest"),
        ] as [(DataValue, String)] {
            let reply = try await server.adminProcedure("com.atproto.admin.updateAccountEmail", input)
            #expect(reply.status == 400 && reply.error == error, "\(input): \(reply.text)")
        }
        #expect(try await server.query("com.atproto.server.getSession", token: alice.accessJwt)["email"]?.stringValue == "alice2@example.com")

        // updateAccountHandle.
        #expect(try await server.adminProcedure("com.atproto.admin.updateAccountHandle", ["did": .string(alice.did), "handle": "alice-new.test"]).status == 200)
        #expect(try await server.query("com.atproto.identity.resolveHandle", [("handle", "alice-new.test")])["did"]?.stringValue == alice.did)
        for (input, error) in [
            (["did": .string(Self.unknownDID), "handle": "ghost.test"], "AccountNotFound"),
            (["did": .string(alice.did), "handle": "bob.test"], "HandleNotAvailable"),
            (["did": .string(alice.did), "handle": "not a handle"], "InvalidHandle"),
            (["did": "nope", "handle": "x.test"], "InvalidRequest"),
        ] as [(DataValue, String)] {
            let reply = try await server.adminProcedure("com.atproto.admin.updateAccountHandle", input)
            #expect([400, 404].contains(reply.status) && reply.error == error, "\(input): \(reply.text)")
        }
        #expect(try await server.adminQuery("com.atproto.admin.getAccountInfo", [("did", alice.did)])["handle"]?.stringValue == "alice-new.test")

        // updateAccountPassword ends the sessions.
        #expect(try await server.adminProcedure("com.atproto.admin.updateAccountPassword", ["did": .string(bob.did), "password": "bob-new-pass"]).status == 200)
        #expect(try await server.query("com.atproto.server.getSession", token: bob.accessJwt).status == 401)
        #expect(try await server.login("bob.test", "bob-new-pass").status == 200)
        let unknownPassword = try await server.adminProcedure("com.atproto.admin.updateAccountPassword", ["did": .string(Self.unknownDID), "password": "x"])
        #expect(unknownPassword.status == 400)

        // deleteAccount.
        #expect(try await server.adminProcedure("com.atproto.admin.deleteAccount", ["did": .string(Self.unknownDID)]).status >= 400)
        #expect(try await server.adminProcedure("com.atproto.admin.deleteAccount", ["did": .string(bob.did)]).status == 200)
        #expect(try await server.login("bob.test", "bob-new-pass").status == 401)
        #expect(try await server.adminQuery("com.atproto.admin.getAccountInfos", [("dids", bob.did)])["infos"]?.arrayValue?.isEmpty == true)
        // Without the admin password nothing happens.
        let anonymous = try await server.adminProcedure("com.atproto.admin.deleteAccount", ["did": .string(alice.did)], authorization: nil)
        #expect(anonymous.status == 401)
        #expect(try await server.adminQuery("com.atproto.admin.getAccountInfo", [("did", alice.did)]).status == 200)
        await server.stop()
    }

    @Test func inviteCodesByTheOperator() async throws {
        let server = try await TestServer.start { $0.inviteRequired = true }
        let admin = try await server.adminProcedure("com.atproto.server.createInviteCode", ["useCount": 5])
        let first = try #require(admin["code"]?.stringValue)
        let carolReply = try await server.procedure(
            "com.atproto.server.createAccount", ["handle": "carol.test", "email": "carol@example.com", "password": "carol-pass", "inviteCode": .string(first)])
        let carol = try #require(carolReply["did"]?.stringValue)
        let forCarol = try await server.adminProcedure("com.atproto.server.createInviteCodes", ["useCount": 1, "codeCount": 2, "forAccounts": [.string(carol)]])
        let carolsCodes = (forCarol["codes"]?[0]?["codes"]?.arrayValue ?? []).compactMap { $0.stringValue }
        try #require(carolsCodes.count == 2)

        // getInviteCodes pages through every code, newest first, and by usage.
        let page1 = try await server.adminQuery("com.atproto.admin.getInviteCodes", [("limit", "2")])
        #expect(page1["codes"]?.arrayValue?.count == 2)
        let cursor = try #require(page1["cursor"]?.stringValue)
        let page2 = try await server.adminQuery("com.atproto.admin.getInviteCodes", [("limit", "2"), ("cursor", cursor)])
        let all = (page1["codes"]?.arrayValue ?? []) + (page2["codes"]?.arrayValue ?? [])
        #expect(Set(all.compactMap { $0["code"]?.stringValue }) == Set([first] + carolsCodes))
        let byUsage = try await server.adminQuery("com.atproto.admin.getInviteCodes", [("sort", "usage")])
        #expect(byUsage["codes"]?[0]?["code"]?.stringValue == first && byUsage["codes"]?[0]?["uses"]?.arrayValue?.count == 1)
        #expect(try await server.adminQuery("com.atproto.admin.getInviteCodes", [("sort", "random")]).text.contains("unknown sort method"))
        #expect(try await server.adminQuery("com.atproto.admin.getInviteCodes", [("cursor", "garbage")]).text.contains("Malformed cursor"))

        // disableAccountInvites: the account's codes stop working until enabled again.
        #expect(try await server.adminProcedure("com.atproto.admin.disableAccountInvites", ["account": .string(carol), "note": "spam"]).status == 200)
        func create(_ name: String, code: String) async throws -> TestServer.Reply {
            try await server.procedure(
                "com.atproto.server.createAccount",
                ["handle": .string("\(name).test"), "email": .string("\(name)@example.com"), "password": "pass-word", "inviteCode": .string(code)])
        }
        #expect(try await create("dave", code: carolsCodes[0]).error == "InvalidInviteCode")
        #expect(try await server.adminQuery("com.atproto.admin.getAccountInfo", [("did", carol)])["invitesDisabled"]?.boolValue == true)
        #expect(try await server.adminProcedure("com.atproto.admin.enableAccountInvites", ["account": .string(carol)]).status == 200)
        #expect(try await create("dave", code: carolsCodes[0]).status == 200)
        #expect(try await server.adminProcedure("com.atproto.admin.disableAccountInvites", ["account": .string(Self.unknownDID)]).error == "AccountNotFound")

        // disableInviteCodes: by code and by account; admin codes by account are refused.
        #expect(try await server.adminProcedure("com.atproto.admin.disableInviteCodes", ["accounts": ["admin"]]).text.contains("cannot disable admin invite codes"))
        #expect(try await server.adminProcedure("com.atproto.admin.disableInviteCodes", ["codes": [.string(first)], "accounts": [.string(carol)]]).status == 200)
        #expect(try await create("erin", code: first).error == "InvalidInviteCode")
        #expect(try await create("erin", code: carolsCodes[1]).error == "InvalidInviteCode")
        await server.stop()
    }

    @Test func sendEmailGoesThroughTheOutbox() async throws {
        let sink = try await SMTPSink()
        let server = try await TestServer.start { MailDeliveryTests.configure(&$0, sink: sink) }
        let frank = try await server.createAccount("frank")
        let content = "<p>Hello &amp; welcome.</p>\n.A line that starts with a dot.\n<p>Bye</p>"
        let reply = try await server.adminProcedure(
            "com.atproto.admin.sendEmail",
            ["recipientDid": .string(frank.did), "senderDid": "did:plc:moderator", "subject": "Your account", "content": .string(content)])
        #expect(reply["sent"]?.boolValue == true)
        let message = try #require(try await sink.waitForMessages(1).first)
        #expect(message.subject == "Your account" && message.recipients == ["frank@example.com"])
        // Dot-stuffed on the way: the line keeps its leading dot.
        #expect(message.html.contains("\n.A line that starts with a dot."))
        #expect(message.text.contains("Hello & welcome.") && !message.text.contains("<p>"))
        let unknown = try await server.adminProcedure(
            "com.atproto.admin.sendEmail", ["recipientDid": .string(Self.unknownDID), "senderDid": "did:plc:moderator", "content": "x"])
        #expect(unknown.status == 400 && unknown.text.contains("Recipient not found"))
        await server.stop()
        await sink.remove()
    }
}
