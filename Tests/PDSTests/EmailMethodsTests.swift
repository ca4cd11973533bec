import ATProto
import Foundation
import GRDB
import PDSTestSupport
import Testing

@testable import PDS

/// The account's email methods, sign-in codes, and the smaller methods of
/// the reference's surface (reserveSigningKey, checkSignupQueue, getHead,
/// getCheckout, describeServer's links).
@Suite struct EmailMethodsTests {
    @Test func thePythonSDKConfirmsChangesResetsAndSignsInWithACode() async throws {
        let sink = try await SMTPSink()
        let server = try await TestServer.start { MailDeliveryTests.configure(&$0, sink: sink) }
        let (status, output) = try await ProjectTools.runPython(script: "Tests/Python/sdk_email.py", arguments: [server.baseURL, sink.directory.path])
        #expect(status == 0, "\(output)")
        #expect(output.contains("OK: "))
        await server.stop()
        await sink.remove()
    }

    @Test func badEmailInputIsRefusedAndChangesNothing() async throws {
        let server = try await TestServer.start()
        let alice = try await server.createAccount("alice")
        let bob = try await server.createAccount("bob")
        func session(_ token: String) async throws -> TestServer.Reply { try await server.query("com.atproto.server.getSession", token: token) }

        #expect(try await server.procedure("com.atproto.server.requestEmailConfirmation", token: alice.accessJwt).status == 200)
        let token = try #require(try await server.emailToken(alice.did, "confirm_email"))
        let wrongEmail = try await server.procedure(
            "com.atproto.server.confirmEmail", ["email": "other@example.com", "token": .string(token)], token: alice.accessJwt)
        #expect(wrongEmail.status == 400 && wrongEmail.error == "InvalidEmail")
        let wrongToken = try await server.procedure(
            "com.atproto.server.confirmEmail", ["email": "alice@example.com", "token": "AAAAA-BBBBB"], token: alice.accessJwt)
        #expect(wrongToken.status == 400 && wrongToken.error == "InvalidToken")
        #expect(try await session(alice.accessJwt)["emailConfirmed"]?.boolValue == false)
        // Another account's token does not confirm this one.
        _ = try await server.procedure("com.atproto.server.requestEmailConfirmation", token: bob.accessJwt)
        let bobs = try #require(try await server.emailToken(bob.did, "confirm_email"))
        let crossed = try await server.procedure(
            "com.atproto.server.confirmEmail", ["email": "alice@example.com", "token": .string(bobs)], token: alice.accessJwt)
        #expect(crossed.error == "InvalidToken")

        // Unconfirmed: no token needed to fix the address, but it must be one.
        let update = try await server.procedure("com.atproto.server.requestEmailUpdate", token: alice.accessJwt)
        #expect(update["tokenRequired"]?.boolValue == false)
        for bad in ["not-an-address", "alice@example", "a b@example.com", "alice@example.com\r\nBcc: x@example.com"] {
            let reply = try await server.procedure("com.atproto.server.updateEmail", ["email": .string(bad)], token: alice.accessJwt)
            #expect(reply.status == 400 && reply.text.contains("not supported"), "\(bad)")
        }
        let taken = try await server.procedure("com.atproto.server.updateEmail", ["email": "BOB@example.com"], token: alice.accessJwt)
        #expect(taken.status == 400 && taken.text.contains("already in use"))
        // Sign-in codes need a confirmed address.
        let early = try await server.procedure(
            "com.atproto.server.updateEmail", ["email": "alice@example.com", "emailAuthFactor": true], token: alice.accessJwt)
        #expect(early.status == 400 && early.text.contains("Confirm the email"))
        #expect(try await session(alice.accessJwt)["email"]?.stringValue == "alice@example.com")
        #expect(try await session(alice.accessJwt)["emailAuthFactor"]?.boolValue == false)

        // App passwords may not change the address.
        let appPassword = try await server.procedure("com.atproto.server.createAppPassword", ["name": "app"], token: alice.accessJwt)
        let appLogin = try await server.login(alice.handle, try #require(appPassword["password"]?.stringValue))
        let appToken = try #require(appLogin["accessJwt"]?.stringValue)
        let byApp = try await server.procedure("com.atproto.server.updateEmail", ["email": "new@example.com"], token: appToken)
        #expect(byApp.status == 403)
        // The reference shows an app password's session the email too.
        #expect(try await session(appToken)["email"]?.stringValue == "alice@example.com")
        await server.stop()
    }

    @Test func signInCodesAreNeededWithThePasswordButNotWithAppPasswords() async throws {
        let server = try await TestServer.start()
        let password = "carol-password-1"
        let carol = try await server.createAccount("carol", password: password)
        _ = try await server.procedure("com.atproto.server.requestEmailConfirmation", token: carol.accessJwt)
        let confirm = try #require(try await server.emailToken(carol.did, "confirm_email"))
        _ = try await server.procedure("com.atproto.server.confirmEmail", ["email": "carol@example.com", "token": .string(confirm)], token: carol.accessJwt)
        // Confirmed: the address changes only with a token; so does the factor.
        let without = try await server.procedure(
            "com.atproto.server.updateEmail", ["email": "carol@example.com", "emailAuthFactor": true], token: carol.accessJwt)
        #expect(without.error == "TokenRequired")
        #expect(try await server.procedure("com.atproto.server.requestEmailUpdate", token: carol.accessJwt)["tokenRequired"]?.boolValue == true)
        let update = try #require(try await server.emailToken(carol.did, "update_email"))
        let on = try await server.procedure(
            "com.atproto.server.updateEmail", ["email": "carol@example.com", "emailAuthFactor": true, "token": .string(update)],
            token: carol.accessJwt)
        #expect(on.status == 200)
        let state = try await server.query("com.atproto.server.getSession", token: carol.accessJwt)
        #expect(state["emailAuthFactor"]?.boolValue == true && state["emailConfirmed"]?.boolValue == true)

        let first = try await server.login(carol.handle, password)
        #expect(first.status == 401 && first.error == "AuthFactorTokenRequired")
        let code = try #require(try await server.emailToken(carol.did, "sign_in"))
        let wrong = try await server.procedure(
            "com.atproto.server.createSession", ["identifier": .string(carol.handle), "password": .string(password), "authFactorToken": "AAAAA-22222"])
        #expect(wrong.status == 400 && wrong.error == "InvalidToken" && wrong["accessJwt"] == nil)
        let second = try await server.procedure(
            "com.atproto.server.createSession",
            ["identifier": .string(carol.handle), "password": .string(password), "authFactorToken": .string(code.lowercased())])
        #expect(second.status == 200 && second["accessJwt"] != nil && second["emailAuthFactor"]?.boolValue == true)
        // Spent: the same code does not sign in twice.
        let again = try await server.procedure(
            "com.atproto.server.createSession", ["identifier": .string(carol.handle), "password": .string(password), "authFactorToken": .string(code)])
        #expect(again.error == "InvalidToken")
        let appPassword = try await server.procedure("com.atproto.server.createAppPassword", ["name": "app"], token: carol.accessJwt)
        #expect(try await server.login(carol.handle, try #require(appPassword["password"]?.stringValue)).status == 200)

        let apps = try await signInCodesOnTheOAuthPage(server: server, did: carol.did, password: password)
        #expect(apps)
        // A new (unconfirmed) address turns the codes off: they must not go
        // where nobody has confirmed.
        _ = try await server.procedure("com.atproto.server.requestEmailUpdate", token: carol.accessJwt)
        let change = try #require(try await server.emailToken(carol.did, "update_email"))
        let moved = try await server.procedure(
            "com.atproto.server.updateEmail", ["email": "carol.new@example.com", "token": .string(change)], token: carol.accessJwt)
        #expect(moved.status == 200)
        let after = try await server.query("com.atproto.server.getSession", token: carol.accessJwt)
        #expect(after["emailAuthFactor"]?.boolValue == false && after["emailConfirmed"]?.boolValue == false)
        #expect(try await server.login(carol.handle, password).status == 200)
        await server.stop()
    }

    /// The OAuth sign-in page asks for the code too. - Returns: whether
    /// signing in with it showed the apps page.
    func signInCodesOnTheOAuthPage(server: TestServer, did: String, password: String) async throws -> Bool {
        let apps = try await server.request("GET", "/oauth/apps")
        let cookie = try #require(apps.headers["set-cookie"]?.split(separator: ";").first.map(String.init))
        let csrf = try #require(Self.hiddenField("csrf", in: apps.text))
        func signIn(_ extra: String) async throws -> TestServer.Reply {
            let form = "csrf=\(csrf)&identifier=carol.test&password=\(password)" + extra
            return try await server.request(
                "POST", "/oauth/authorize/sign-in", body: Array(form.utf8), contentType: "application/x-www-form-urlencoded",
                headers: ["Origin": server.baseURL, "Cookie": cookie])
        }
        let asked = try await signIn("")
        #expect(asked.status == 401 && asked.text.contains("name=\"code\"") && asked.text.contains("sent a sign-in code"))
        let pageCode = try #require(try await server.emailToken(did, "sign_in"))
        // Signed in: the redirect (followed) shows the apps, not the form.
        let signedIn = try await signIn("&code=" + pageCode)
        return signedIn.status == 200 && signedIn.text.contains("No app has access") && !signedIn.text.contains("name=\"password\"")
    }

    static func hiddenField(_ name: String, in html: String) -> String? {
        guard let range = html.range(of: "name=\"\(name)\" value=\"[^\"]*\"", options: .regularExpression) else { return nil }
        return String(html[range].dropFirst("name=\"\(name)\" value=\"".count).dropLast())
    }

    @Test func reservedSigningKeysAreKeptPerDIDAndUsedByTheMigratingAccount() async throws {
        let server = try await TestServer.start()
        let did = "did:plc:" + String(repeating: "a", count: 24)
        let first = try await server.procedure("com.atproto.server.reserveSigningKey", ["did": .string(did)])
        let again = try await server.procedure("com.atproto.server.reserveSigningKey", ["did": .string(did)])
        let key = try #require(first["signingKey"]?.stringValue)
        #expect(key.hasPrefix("did:key:z") && again["signingKey"]?.stringValue == key)
        let anonymous = try await server.procedure("com.atproto.server.reserveSigningKey")
        #expect(anonymous["signingKey"]?.stringValue != key && anonymous["signingKey"]?.stringValue?.hasPrefix("did:key:") == true)
        let bad = try await server.procedure("com.atproto.server.reserveSigningKey", ["did": "not-a-did"])
        #expect(bad.status == 400)
        #expect(try await server.count("SELECT COUNT(*) FROM reserved_signing_key") == 2)
        await server.stop()
    }

    @Test func theSmallerMethodsOfTheReferenceSurface() async throws {
        let server = try await TestServer.start {
            $0.privacyPolicyURL = "https://example.com/privacy"
            $0.termsOfServiceURL = "https://example.com/tos"
            $0.contactEmailAddress = "admin@example.com"
        }
        let dave = try await server.createAccount("dave")
        let description = try await server.query("com.atproto.server.describeServer")
        #expect(description["links"]?["privacyPolicy"]?.stringValue == "https://example.com/privacy")
        #expect(description["links"]?["termsOfService"]?.stringValue == "https://example.com/tos")
        #expect(description["contact"]?["email"]?.stringValue == "admin@example.com")
        #expect(description["phoneVerificationRequired"] == nil)

        #expect(try await server.query("com.atproto.temp.checkSignupQueue", token: dave.accessJwt)["activated"]?.boolValue == true)
        #expect(try await server.query("com.atproto.temp.checkSignupQueue").status == 401)

        let latest = try await server.query("com.atproto.sync.getLatestCommit", [("did", dave.did)])
        let head = try await server.query("com.atproto.sync.getHead", [("did", dave.did)])
        #expect(head["root"]?.stringValue == latest["cid"]?.stringValue && head["root"] != nil)
        let unknown = try await server.query("com.atproto.sync.getHead", [("did", "did:plc:" + String(repeating: "z", count: 24))])
        #expect(unknown.status == 400 && unknown.error == "RepoNotFound")
        let checkout = try await server.query("com.atproto.sync.getCheckout", [("did", dave.did)])
        let repo = try await server.query("com.atproto.sync.getRepo", [("did", dave.did)])
        #expect(checkout.status == 200 && checkout.headers["content-type"] == "application/vnd.ipld.car")
        #expect(checkout.body == repo.body && !checkout.body.isEmpty)
        await server.stop()
    }
}
