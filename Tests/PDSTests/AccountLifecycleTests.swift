import ATProto
import Foundation
import GRDB
import PDSTestSupport
import Testing

@testable import PDS

@Suite("Account lifecycle")
struct AccountLifecycleTests {
    static func isAppPasswordForm(_ s: String) -> Bool {
        s.range(of: #"^[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}$"#, options: .regularExpression) != nil
    }

    /// create → app passwords → deactivate → activate → delete, with the
    /// refusals along the way.
    @Test func fullLifecycle() async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let alice = try await server.createAccount("alice", password: "alice-pass")
        let bob = try await server.createAccount("bob", password: "bob-pass")

        // App passwords: create, bad inputs, list.
        let created = try await server.procedure("com.atproto.server.createAppPassword", ["name": "phone"], token: alice.accessJwt)
        #expect(created.status == 200, "\(created.text)")
        let appPassword = try #require(created["password"]?.stringValue)
        #expect(Self.isAppPasswordForm(appPassword))
        #expect(created["name"] == "phone" && created["privileged"] == false)
        #expect(ATDatetime.isValid(created["createdAt"]?.stringValue ?? ""))
        let duplicate = try await server.procedure("com.atproto.server.createAppPassword", ["name": "phone"], token: alice.accessJwt)
        #expect(duplicate.status == 400 && duplicate.error == "InvalidRequest")
        let noName = try await server.procedure("com.atproto.server.createAppPassword", ["privileged": true], token: alice.accessJwt)
        #expect(noName.status == 400 && noName.error == "InvalidRequest")
        let badPrivileged = try await server.procedure(
            "com.atproto.server.createAppPassword", ["name": "x", "privileged": "yes"], token: alice.accessJwt)
        #expect(badPrivileged.status == 400 && badPrivileged.error == "InvalidRequest")
        let anonymous = try await server.procedure("com.atproto.server.createAppPassword", ["name": "anon"])
        #expect(anonymous.status == 401)
        #expect(try await server.count("SELECT COUNT(*) FROM app_password") == 1)
        let listed = try await server.query("com.atproto.server.listAppPasswords", token: alice.accessJwt)
        #expect(listed["passwords"]?.arrayValue?.count == 1)
        #expect(listed["passwords"]?[0]?["name"] == "phone" && listed["passwords"]?[0]?["password"] == nil)
        #expect(listed["passwords"]?[0]?["createdAt"] == created["createdAt"])
        let bobList = try await server.query("com.atproto.server.listAppPasswords", token: bob.accessJwt)
        #expect(bobList["passwords"] == [])

        // Logging in with the app password works, writes work, privileged methods are refused.
        let appLogin = try await server.login(alice.handle, appPassword)
        #expect(appLogin.status == 200 && appLogin["did"]?.stringValue == alice.did, "\(appLogin.text)")
        let appToken = try #require(appLogin["accessJwt"]?.stringValue)
        let appRefresh = try #require(appLogin["refreshJwt"]?.stringValue)
        #expect(try await server.login(alice.handle, appPassword.uppercased()).status == 200)
        #expect(try await server.post(alice.did, "from an app", token: appToken).status == 200)
        for (nsid, input) in [
            ("com.atproto.server.createAppPassword", ["name": "sneaky"] as DataValue),
            ("com.atproto.server.revokeAppPassword", ["name": "phone"]),
            ("com.atproto.server.deactivateAccount", [:]),
            ("com.atproto.server.requestAccountDelete", [:]),
        ] {
            let refused = try await server.procedure(nsid, input, token: appToken)
            #expect(refused.status == 403 && refused.error == "InvalidToken", "\(nsid): \(refused.text)")
        }
        #expect(try await server.query("com.atproto.server.listAppPasswords", token: appToken).error == "InvalidToken")
        #expect(try await server.count("SELECT COUNT(*) FROM app_password") == 1)

        // Revoking ends the app password's sessions, and only those.
        let revoke = try await server.procedure("com.atproto.server.revokeAppPassword", ["name": "phone"], token: alice.accessJwt)
        #expect(revoke.status == 200)
        let afterRevoke = try await server.query("com.atproto.server.getSession", token: appToken)
        #expect(afterRevoke.status == 401 && afterRevoke.error == "InvalidToken")
        #expect(try await server.procedure("com.atproto.server.refreshSession", token: appRefresh).error == "ExpiredToken")
        #expect(try await server.login(alice.handle, appPassword).status == 401)
        #expect(try await server.query("com.atproto.server.listAppPasswords", token: alice.accessJwt)["passwords"] == [])
        #expect(try await server.query("com.atproto.server.getSession", token: alice.accessJwt).status == 200)
        #expect(try await server.count("SELECT COUNT(*) FROM refresh_token WHERE app_password_name IS NOT NULL") == 0)

        // Status of an active account.
        let head = try await server.query("com.atproto.sync.getLatestCommit", [("did", alice.did)])
        let status = try await server.query("com.atproto.server.checkAccountStatus", token: alice.accessJwt)
        #expect(status.status == 200, "\(status.text)")
        #expect(status["activated"] == true && status["validDid"] == true)
        #expect(status["repoCommit"] == head["cid"] && status["repoRev"] == head["rev"])
        #expect(status["indexedRecords"] == 1)
        let blocks = try await server.count("SELECT COUNT(*) FROM blockstore WHERE did = ?", [alice.did])
        #expect(status["repoBlocks"] == .int(Int64(blocks)) && blocks >= 3)
        #expect(status["privateStateValues"] == 0 && status["expectedBlobs"] == 0 && status["importedBlobs"] == 0)

        // Deactivation: bad input changes nothing; then writes and sync are refused, reads of one's own status work.
        let badDeactivate = try await server.procedure(
            "com.atproto.server.deactivateAccount", ["deleteAfter": "next tuesday"], token: alice.accessJwt)
        #expect(badDeactivate.status == 400 && badDeactivate.error == "InvalidRequest")
        #expect(try await server.query("com.atproto.sync.getRepoStatus", [("did", alice.did)])["active"] == true)
        let deactivate = try await server.procedure(
            "com.atproto.server.deactivateAccount", ["deleteAfter": "2099-01-01T00:00:00.000Z"], token: alice.accessJwt)
        #expect(deactivate.status == 200, "\(deactivate.text)")
        let write = try await server.post(alice.did, "while away", token: alice.accessJwt)
        #expect(write.status == 401 && write.error == "AccountDeactivated")
        let repoStatus = try await server.query("com.atproto.sync.getRepoStatus", [("did", alice.did)])
        #expect(repoStatus["active"] == false && repoStatus["status"] == "deactivated")
        #expect(try await server.query("com.atproto.sync.getRepo", [("did", alice.did)]).error == "RepoDeactivated")
        let session = try await server.query("com.atproto.server.getSession", token: alice.accessJwt)
        #expect(session.status == 200 && session["active"] == false && session["status"] == "deactivated")
        let inactiveStatus = try await server.query("com.atproto.server.checkAccountStatus", token: alice.accessJwt)
        #expect(inactiveStatus["activated"] == false && inactiveStatus["repoRev"] == head["rev"])
        let relogin = try await server.login(alice.handle, "alice-pass")
        #expect(relogin.status == 200 && relogin["active"] == false)
        let deleteAfter = try await server.services.pool.read { db in
            try String.fetchOne(db, sql: "SELECT delete_after FROM account WHERE did = ?", arguments: [alice.did])
        }
        #expect(deleteAfter == "2099-01-01T00:00:00.000Z")

        // Activation.
        #expect(try await server.procedure("com.atproto.server.activateAccount", token: alice.accessJwt).status == 200)
        #expect(try await server.query("com.atproto.sync.getRepoStatus", [("did", alice.did)])["active"] == true)
        #expect(try await server.post(alice.did, "back", token: alice.accessJwt).status == 200)

        // Deletion: request a token, then every wrong input is refused and changes nothing.
        #expect(try await server.procedure("com.atproto.server.requestAccountDelete", token: alice.accessJwt).status == 200)
        let token = try #require(try await server.emailToken(alice.did, "delete_account"))
        #expect(token.range(of: #"^[A-Z2-7]{5}-[A-Z2-7]{5}$"#, options: .regularExpression) != nil)
        #expect(try await server.procedure("com.atproto.server.requestAccountDelete", token: bob.accessJwt).status == 200)
        let bobToken = try #require(try await server.emailToken(bob.did, "delete_account"))
        let before = try await server.rowsOf(alice.did)
        let attempts: [(DataValue, Int, String)] = [
            (["did": .string(alice.did), "password": "wrong", "token": .string(token)], 401, "AuthRequired"),
            (["did": .string(alice.did), "password": "alice-pass", "token": "AAAAA-BBBBB"], 400, "InvalidToken"),
            (["did": .string(alice.did), "password": "alice-pass", "token": .string(bobToken)], 400, "InvalidToken"),
            (["did": .string(alice.did), "password": "alice-pass"], 400, "InvalidRequest"),
            (["did": "did:plc:nobodyhere", "password": "alice-pass", "token": .string(token)], 400, "InvalidRequest"),
            (["did": .string(bob.did), "password": "alice-pass", "token": .string(token)], 401, "AuthRequired"),
        ]
        for (input, status, error) in attempts {
            let reply = try await server.procedure("com.atproto.server.deleteAccount", input)
            #expect(reply.status == status && reply.error == error, "\(input): \(reply.text)")
        }
        #expect(try await server.rowsOf(alice.did) == before)
        #expect(try await server.emailToken(alice.did, "delete_account") == token)
        #expect(try await server.query("com.atproto.server.getSession", token: alice.accessJwt).status == 200)

        let deleted = try await server.procedure(
            "com.atproto.server.deleteAccount",
            ["did": .string(alice.did), "password": "alice-pass", "token": .string(token.lowercased())])
        #expect(deleted.status == 200, "\(deleted.text)")
        #expect(try await server.rowsOf(alice.did).values.allSatisfy { $0 == 0 })
        let getRepo = try await server.query("com.atproto.sync.getRepo", [("did", alice.did)])
        #expect(getRepo.status == 400 && getRepo.error == "RepoNotFound")
        #expect(try await server.query("com.atproto.sync.getRepoStatus", [("did", alice.did)]).error == "RepoNotFound")
        #expect(try await server.query("com.atproto.server.getSession", token: alice.accessJwt).status == 401)
        #expect(try await server.login(alice.did, "alice-pass").status == 401)
        #expect(try await server.login(alice.handle, "alice-pass").status == 401)
        let listRepos = try await server.query("com.atproto.sync.listRepos")
        #expect(listRepos["repos"]?.arrayValue?.map { $0["did"] } == [.string(bob.did)])
        // The tombstone row frees the handle; read back, it has none.
        let tombstone = try #require(try await server.services.accounts.account(did: try DID(alice.did)))
        #expect(tombstone.status == .deleted && tombstone.handle.isInvalidHandleMarker)
        // Bob is untouched.
        #expect(try await server.query("com.atproto.server.getSession", token: bob.accessJwt).status == 200)
        #expect(try await server.emailToken(bob.did, "delete_account") == bobToken)

        // The handle (and email) are free again; the new account is a new identity.
        let again = try await server.createAccount("alice", password: "another")
        #expect(again.did != alice.did)
        #expect(try await server.query("com.atproto.repo.describeRepo", [("repo", "alice.test")])["did"]?.stringValue == again.did)
    }

    @Test func passwordResetEndToEnd() async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let carol = try await server.createAccount("carol", password: "old-pass")
        let other = try await server.login(carol.handle, "old-pass")
        let otherToken = try #require(other["accessJwt"]?.stringValue)

        // Unknown addresses get the same answer and no token.
        for email in ["nobody@example.com", "not-an-email"] {
            let unknown = try await server.procedure("com.atproto.server.requestPasswordReset", ["email": .string(email)])
            #expect(unknown.status == 200)
        }
        #expect(try await server.count("SELECT COUNT(*) FROM email_token") == 0)
        #expect(try await server.procedure("com.atproto.server.requestPasswordReset", [:]).error == "InvalidRequest")

        let request = try await server.procedure("com.atproto.server.requestPasswordReset", ["email": "CAROL@example.com"])
        #expect(request.status == 200)
        let token = try #require(try await server.emailToken(carol.did, "reset_password"))

        // Wrong inputs: nothing changes.
        let wrong = try await server.procedure("com.atproto.server.resetPassword", ["token": "ZZZZZ-ZZZZZ", "password": "new-pass"])
        #expect(wrong.status == 400 && wrong.error == "InvalidToken")
        let empty = try await server.procedure("com.atproto.server.resetPassword", ["token": .string(token), "password": ""])
        #expect(empty.status == 400 && empty.error == "InvalidRequest")
        let missing = try await server.procedure("com.atproto.server.resetPassword", ["token": .string(token)])
        #expect(missing.status == 400 && missing.error == "InvalidRequest")
        // A deletion token is not a reset token.
        #expect(try await server.procedure("com.atproto.server.requestAccountDelete", token: carol.accessJwt).status == 200)
        let deleteToken = try #require(try await server.emailToken(carol.did, "delete_account"))
        let crossed = try await server.procedure("com.atproto.server.resetPassword", ["token": .string(deleteToken), "password": "new-pass"])
        #expect(crossed.error == "InvalidToken")
        // Expired.
        try await server.services.pool.write { db in
            try db.execute(sql: "UPDATE email_token SET requested_at = requested_at - 901 WHERE purpose = 'reset_password'")
        }
        let expired = try await server.procedure("com.atproto.server.resetPassword", ["token": .string(token), "password": "new-pass"])
        #expect(expired.status == 400 && expired.error == "ExpiredToken")
        try await server.services.pool.write { db in
            try db.execute(sql: "UPDATE email_token SET requested_at = requested_at + 901 WHERE purpose = 'reset_password'")
        }
        #expect(try await server.login(carol.handle, "old-pass").status == 200)
        #expect(try await server.query("com.atproto.server.getSession", token: otherToken).status == 200)

        // The reset: new hash, every session ended, token spent.
        let reset = try await server.procedure(
            "com.atproto.server.resetPassword", ["token": .string(token.lowercased()), "password": "new-pass"])
        #expect(reset.status == 200, "\(reset.text)")
        for access in [carol.accessJwt, otherToken] {
            #expect(try await server.query("com.atproto.server.getSession", token: access).status == 401)
        }
        #expect(try await server.procedure("com.atproto.server.refreshSession", token: carol.refreshJwt).error == "ExpiredToken")
        #expect(try await server.login(carol.handle, "old-pass").status == 401)
        let fresh = try await server.login("carol@example.com", "new-pass")
        #expect(fresh.status == 200 && fresh["did"]?.stringValue == carol.did)
        let hash = try await server.services.accounts.passwordHash(did: try DID(carol.did))
        #expect(hash?.hasPrefix("$argon2id$") == true)
        let reused = try await server.procedure("com.atproto.server.resetPassword", ["token": .string(token), "password": "third"])
        #expect(reused.error == "InvalidToken")
        #expect(try await server.emailToken(carol.did, "reset_password") == nil)
        // The deletion token was not touched.
        #expect(try await server.emailToken(carol.did, "delete_account") == deleteToken)
    }
}
