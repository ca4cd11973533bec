import ATProto
import Foundation
import PDSTestSupport
import Testing

@testable import PDS

@Suite("Admin endpoints")
struct AdminTests {
    static let repoRef = "com.atproto.admin.defs#repoRef"

    func takedown(_ server: TestServer, _ did: String, applied: Bool, ref: String? = nil) async throws -> TestServer.Reply {
        var attr: DataMap = ["applied": .bool(applied)]
        if let ref { attr["ref"] = .string(ref) }
        return try await server.adminProcedure(
            "com.atproto.admin.updateSubjectStatus",
            ["subject": ["$type": .string(Self.repoRef), "did": .string(did)], "takedown": .map(attr)])
    }

    @Test func adminAuthIsRequired() async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let user = try await server.createAccount("jane")
        let wrong = "Basic " + Data("admin:nope".utf8).base64EncodedString()
        let notAdmin = "Basic " + Data("jane:admin-secret".utf8).base64EncodedString()
        for auth in [nil, wrong, notAdmin, "Bearer \(user.accessJwt)", "Basic !!!"] as [String?] {
            let update = try await server.adminProcedure(
                "com.atproto.admin.updateSubjectStatus",
                ["subject": ["$type": .string(Self.repoRef), "did": .string(user.did)], "takedown": ["applied": true]],
                authorization: auth)
            #expect(update.status == 401 && update.error == "AuthRequired", "\(String(describing: auth)): \(update.text)")
            for nsid in ["com.atproto.admin.getSubjectStatus", "com.atproto.admin.getAccountInfo"] {
                let read = try await server.adminQuery(nsid, [("did", user.did)], authorization: auth)
                #expect(read.status == 401 && read.error == "AuthRequired", "\(nsid)")
            }
            let invite = try await server.adminProcedure("com.atproto.server.createInviteCodes", ["useCount": 1], authorization: auth)
            #expect(invite.status == 401)
        }
        #expect(try await server.query("com.atproto.server.getSession", token: user.accessJwt)["active"] == true)
        #expect(try await server.count("SELECT COUNT(*) FROM invite_code") == 0)

        let disabled = try await TestServer.start { $0.adminPassword = nil }
        defer { Task { await disabled.stop() } }
        let refused = try await disabled.adminQuery("com.atproto.admin.getAccountInfo", [("did", user.did)])
        #expect(refused.status == 403)
    }

    @Test func takedownBlocksLoginSessionsAndSync() async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let kim = try await server.createAccount("kim", password: "kim-pass")
        let lou = try await server.createAccount("lou")
        let hello = try await server.post(kim.did, "hello", token: kim.accessJwt)
        #expect(hello.status == 200)
        let helloKey = try #require(hello["uri"]?.stringValue?.split(separator: "/").last.map(String.init))
        let publicReads: [(String, [(String, String)])] = [
            ("com.atproto.repo.getRecord", [("repo", kim.did), ("collection", "app.bsky.feed.post"), ("rkey", helloKey)]),
            ("com.atproto.repo.getRecord", [("repo", kim.handle), ("collection", "app.bsky.feed.post"), ("rkey", helloKey)]),
            ("com.atproto.repo.listRecords", [("repo", kim.did), ("collection", "app.bsky.feed.post")]),
            ("com.atproto.repo.describeRepo", [("repo", kim.did)]),
        ]
        // Read once, so that the record's answer is also in the cache.
        for (nsid, params) in publicReads { #expect(try await server.query(nsid, params).status == 200, "\(nsid)") }

        // Bad inputs change nothing.
        let badInputs: [(DataValue, String)] = [
            (["takedown": ["applied": true]], "InvalidRequest"),
            (["subject": ["did": .string(kim.did)], "takedown": ["applied": true]], "InvalidRequest"),
            (["subject": ["$type": "com.atproto.repo.strongRef", "uri": .string("at://\(kim.did)/app.bsky.feed.post/x"), "cid": "bafy"],
              "takedown": ["applied": true]], "InvalidRequest"),
            (["subject": ["$type": .string(Self.repoRef), "did": "kim.test"], "takedown": ["applied": true]], "InvalidRequest"),
            (["subject": ["$type": .string(Self.repoRef), "did": .string(kim.did)], "takedown": ["ref": "x"]], "InvalidRequest"),
            (["subject": ["$type": .string(Self.repoRef), "did": .string(kim.did)], "takedown": true], "InvalidRequest"),
            (["subject": ["$type": .string(Self.repoRef), "did": "did:plc:unknownunknownunknown"], "takedown": ["applied": true]], "NotFound"),
        ]
        for (input, error) in badInputs {
            let reply = try await server.adminProcedure("com.atproto.admin.updateSubjectStatus", input)
            #expect(reply.status == 400 && reply.error == error, "\(input): \(reply.text)")
        }
        #expect(try await server.query("com.atproto.server.getSession", token: kim.accessJwt).status == 200)

        // Takedown.
        let down = try await takedown(server, kim.did, applied: true, ref: "report-17")
        #expect(down.status == 200, "\(down.text)")
        #expect(down["subject"]?["did"]?.stringValue == kim.did && down["takedown"] == ["applied": true, "ref": "report-17"])
        let session = try await server.query("com.atproto.server.getSession", token: kim.accessJwt)
        #expect(session.status == 401)
        #expect(try await server.procedure("com.atproto.server.refreshSession", token: kim.refreshJwt).status == 400)
        let login = try await server.login(kim.handle, "kim-pass")
        #expect(login.status == 401 && login.error == "AccountTakedown")
        #expect(try await server.count("SELECT COUNT(*) FROM refresh_token WHERE did = ?", [kim.did]) == 0)
        for nsid in ["com.atproto.sync.getRepo", "com.atproto.sync.getLatestCommit"] {
            let read = try await server.query(nsid, [("did", kim.did)])
            #expect(read.status == 400 && read.error == "RepoTakendown", "\(nsid)")
        }
        for (nsid, params) in publicReads {
            let read = try await server.query(nsid, params)
            #expect(read.status == 400 && read.error == "RepoTakendown", "\(nsid): \(read.text)")
        }
        let repoStatus = try await server.query("com.atproto.sync.getRepoStatus", [("did", kim.did)])
        #expect(repoStatus["active"] == false && repoStatus["status"] == "takendown")
        let status = try await server.adminQuery("com.atproto.admin.getSubjectStatus", [("did", kim.did)])
        #expect(status["subject"] == ["$type": .string(Self.repoRef), "did": .string(kim.did)])
        #expect(status["takedown"] == ["applied": true, "ref": "report-17"] && status["deactivated"] == ["applied": false])
        // Others are untouched.
        #expect(try await server.query("com.atproto.server.getSession", token: lou.accessJwt).status == 200)

        // Lifting it: login and sync work again.
        let up = try await takedown(server, kim.did, applied: false)
        #expect(up.status == 200 && up["takedown"] == ["applied": false])
        #expect(try await server.login(kim.handle, "kim-pass").status == 200)
        #expect(try await server.query("com.atproto.sync.getRepoStatus", [("did", kim.did)])["active"] == true)
        #expect(try await server.query("com.atproto.sync.getRepo", [("did", kim.did)]).status == 200)
        for (nsid, params) in publicReads { #expect(try await server.query(nsid, params).status == 200, "\(nsid)") }

        // A takedown over a deactivation: lifting it leaves the account deactivated.
        let deactivate = try await server.adminProcedure(
            "com.atproto.admin.updateSubjectStatus",
            ["subject": ["$type": .string(Self.repoRef), "did": .string(lou.did)], "deactivated": ["applied": true]])
        #expect(deactivate.status == 200)
        #expect(try await takedown(server, lou.did, applied: true).status == 200)
        let louDown = try await server.adminQuery("com.atproto.admin.getSubjectStatus", [("did", lou.did)])
        #expect(louDown["takedown"]?["applied"] == true && louDown["takedown"]?["ref"]?.stringValue.map(ATDatetime.isValid) == true)
        #expect(try await server.query("com.atproto.sync.getRepoStatus", [("did", lou.did)])["status"] == "takendown")
        #expect(try await takedown(server, lou.did, applied: false).status == 200)
        #expect(try await server.query("com.atproto.sync.getRepoStatus", [("did", lou.did)])["status"] == "deactivated")

        // getSubjectStatus inputs.
        #expect(try await server.adminQuery("com.atproto.admin.getSubjectStatus", []).error == "InvalidRequest")
        #expect(try await server.adminQuery("com.atproto.admin.getSubjectStatus", [("uri", "at://\(kim.did)/a.b.c/x")]).error == "InvalidRequest")
        #expect(try await server.adminQuery("com.atproto.admin.getSubjectStatus", [("did", "did:plc:unknownunknownunknown")]).error == "NotFound")
    }

    @Test func accountInfo() async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let mia = try await server.createAccount("mia")
        let info = try await server.adminQuery("com.atproto.admin.getAccountInfo", [("did", mia.did)])
        #expect(info.status == 200, "\(info.text)")
        #expect(info["did"]?.stringValue == mia.did && info["handle"] == "mia.test" && info["email"] == "mia@example.com")
        #expect(ATDatetime.isValid(info["indexedAt"]?.stringValue ?? "") && info["invites"] == [] && info["invitedBy"] == nil)
        #expect(info["deactivatedAt"] == nil && info["relatedRecords"] == nil)
        let profile = try await server.procedure(
            "com.atproto.repo.putRecord",
            ["repo": .string(mia.did), "collection": "app.bsky.actor.profile", "rkey": "self",
             "record": ["$type": "app.bsky.actor.profile", "displayName": "Mia"]], token: mia.accessJwt)
        #expect(profile.status == 200)
        #expect(try await server.procedure("com.atproto.server.deactivateAccount", token: mia.accessJwt).status == 200)
        let later = try await server.adminQuery("com.atproto.admin.getAccountInfo", [("did", mia.did)])
        #expect(ATDatetime.isValid(later["deactivatedAt"]?.stringValue ?? ""))
        #expect(later["relatedRecords"]?[0]?["displayName"] == "Mia")
        #expect(try await server.adminQuery("com.atproto.admin.getAccountInfo", []).error == "InvalidRequest")
        #expect(try await server.adminQuery("com.atproto.admin.getAccountInfo", [("did", "did:plc:unknownunknownunknown")]).error == "NotFound")
    }
}
