import ATProto
import Foundation
import GRDB
import PDSTestSupport
import Testing

@testable import PDS

/// Mail handed to a real SMTP server (aiosmtpd, `SMTPSink`): STARTTLS and
/// AUTH, the message as a mail reader sees it, and the outbox keeping a
/// message through an outage and a restart, sending it exactly once.
@Suite(.serialized) struct MailDeliveryTests {
    static func configure(_ config: inout PDSConfig, sink: SMTPSink) {
        config.mail.smtpURL = sink.url
        config.mail.fromAddress = "Swift PDS <pds@example.com>"
        if sink.options.tls { config.mail.trustedCertificatesFile = sink.caFile }
    }

    /// The outbox's rows: state, attempts and last error.
    static func outbox(_ server: TestServer) async throws -> [MailOutbox.Entry] {
        try await server.services.storage.read { tx in try MailOutbox.entries(in: tx) }
    }

    @Test func passwordResetArrivesOverStartTLSWithAuthAndItsTokenWorks() async throws {
        let sink = try await SMTPSink(.init(tls: true, credentials: ("pds-mailer", "s3cret pass")))
        let server = try await TestServer.start { Self.configure(&$0, sink: sink) }
        let alice = try await server.createAccount("alice")
        #expect(try await server.procedure("com.atproto.server.requestPasswordReset", ["email": "ALICE@example.com"]).status == 200)

        let message = try #require(try await sink.waitForMessages(1).first)
        #expect(message.recipients == ["alice@example.com"])
        #expect(message["mail_from"] == "pds@example.com")
        #expect(message.usedTLS && message.user == "pds-mailer")
        #expect(message.subject == "Password Reset Requested")
        #expect(message["from"] == "Swift PDS <pds@example.com>" && message["to"] == "alice@example.com")
        #expect(message["content_type"] == "multipart/alternative")
        #expect(message.messageID.hasPrefix("<") && message.messageID.hasSuffix("@example.com>"))
        #expect(message["date"]?.hasSuffix("+0000") == true)
        let token = try #require(message.token)
        #expect(token == (try await server.emailToken(alice.did, "reset_password")))
        #expect(message.text.contains("@alice.test") && message.text.contains("15 minutes"))
        #expect(message.html.contains("<b>\(token)</b>") && message.html.contains("<b>@alice.test</b>"))

        let reset = try await server.procedure("com.atproto.server.resetPassword", ["token": .string(token), "password": "a-new-password-1"])
        #expect(reset.status == 200)
        #expect(try await server.login(alice.handle, "a-new-password-1").status == 200)
        let rows = try await Self.outbox(server)
        #expect(rows.map(\.state) == ["sent"] && rows[0].kind == "reset_password")
        #expect(try await server.count("SELECT COUNT(*) FROM mail_outbox WHERE message IS NOT NULL") == 0)
        await server.stop()
        await sink.remove()
    }

    @Test func plcAndDeletionTokensAreMailedAndWork() async throws {
        let sink = try await SMTPSink()
        let server = try await TestServer.start { Self.configure(&$0, sink: sink) }
        let password = "hana-password-1"
        let hana = try await server.createAccount("hana", password: password)
        #expect(try await server.procedure("com.atproto.identity.requestPlcOperationSignature", token: hana.accessJwt).status == 200)
        let plc = try #require(try await sink.waitForMessages(1).last)
        #expect(plc.subject == "PLC Update Operation Requested" && plc.recipients == ["hana@example.com"])
        let plcToken = try #require(plc.token)
        #expect(plc.html.contains(plcToken) && plc.text.contains("@hana.test"))
        let signed = try await server.procedure("com.atproto.identity.signPlcOperation", ["token": .string(plcToken)], token: hana.accessJwt)
        #expect(signed.status == 200 && signed["operation"] != nil, "\(signed.text)")

        #expect(try await server.procedure("com.atproto.server.requestAccountDelete", token: hana.accessJwt).status == 200)
        let deletion = try #require(try await sink.waitForMessages(2).last)
        #expect(deletion.subject == "Account Deletion Requested" && deletion.recipients == ["hana@example.com"])
        let deleteToken = try #require(deletion.token)
        #expect(deletion.html.contains(deleteToken))
        let deleted = try await server.procedure(
            "com.atproto.server.deleteAccount", ["did": .string(hana.did), "password": .string(password), "token": .string(deleteToken)])
        #expect(deleted.status == 200, "\(deleted.text)")
        #expect(try await server.login(hana.handle, password).status == 401)
        await server.stop()
        await sink.remove()
    }

    @Test func aMessageWaitsOutAnOutageAndIsSentOnce() async throws {
        let sink = try await SMTPSink()
        let server = try await TestServer.start { Self.configure(&$0, sink: sink) }
        let bob = try await server.createAccount("bob")
        await sink.stop()
        #expect(try await server.procedure("com.atproto.server.requestPasswordReset", ["email": "bob@example.com"]).status == 200)
        // The first attempt fails and leaves the message pending, counted by /metrics.
        try await waitUntil { (try await Self.outbox(server).first?.attempts ?? 0) >= 1 }
        // A second request replaces the first token: the first message would carry a dead one.
        #expect(try await server.procedure("com.atproto.server.requestPasswordReset", ["email": "bob@example.com"]).status == 200)
        #expect(try await Self.outbox(server).map(\.state) == ["pending", "superseded"])
        try await waitUntil { (try await Self.outbox(server).first?.attempts ?? 0) >= 1 }
        let pending = try #require(try await Self.outbox(server).first)
        #expect(pending.state == "pending" && pending.lastError?.contains("could not talk to the SMTP server") == true)
        let scrape = try await server.request("GET", "/metrics", headers: ["Authorization": TestServer.adminAuth]).text
        #expect(scrape.contains("pds_mail_outbox_depth 1"))
        #expect(scrape.contains("pds_mail_attempts_total{outcome=\"retried\"}"))

        try await sink.start()
        let delivered = try await sink.waitForMessages(1)
        #expect(delivered[0].token == (try await server.emailToken(bob.did, "reset_password")))
        try await Task.sleep(for: .seconds(3))
        #expect(try sink.messages().count == 1)
        #expect(try await Self.outbox(server).map(\.state) == ["sent", "superseded"])
        await server.stop()
        await sink.remove()
    }

    @Test func aMessageQueuedBeforeARestartIsSentAfterIt() async throws {
        let sink = try await SMTPSink()
        await sink.stop()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pds-mail-restart-\(UUID().uuidString)")
        let first = try await TestServer.start {
            Self.configure(&$0, sink: sink)
            $0.dataDirectory = directory.path
        }
        let carol = try await first.createAccount("carol")
        #expect(try await first.procedure("com.atproto.server.requestPasswordReset", ["email": "carol@example.com"]).status == 200)
        try await waitUntil { (try await Self.outbox(first).first?.attempts ?? 0) >= 1 }
        await first.stop(keepData: true)

        try await sink.start()
        let second = try await TestServer.start {
            Self.configure(&$0, sink: sink)
            $0.dataDirectory = directory.path
        }
        let delivered = try await sink.waitForMessages(1)
        let token = try #require(delivered[0].token)
        try await Task.sleep(for: .seconds(2))
        #expect(try sink.messages().count == 1)
        let reset = try await second.procedure("com.atproto.server.resetPassword", ["token": .string(token), "password": "after-restart-1"])
        #expect(reset.status == 200)
        #expect(try await second.login(carol.handle, "after-restart-1").status == 200)
        await second.stop()
        await sink.remove()
    }

    @Test func aTemporaryRefusalIsRetriedAndAPermanentOneIsNot() async throws {
        let busy = try await SMTPSink(.init(refuse: (1, 451)))
        let server = try await TestServer.start { Self.configure(&$0, sink: busy) }
        _ = try await server.createAccount("dave")
        #expect(try await server.procedure("com.atproto.server.requestPasswordReset", ["email": "dave@example.com"]).status == 200)
        #expect(try await busy.waitForMessages(1).count == 1)
        let sent = try #require(try await Self.outbox(server).first)
        #expect(sent.state == "sent" && sent.attempts == 2)
        await server.stop()
        await busy.remove()

        let refusing = try await SMTPSink(.init(refuse: (10, 550)))
        let other = try await TestServer.start { Self.configure(&$0, sink: refusing) }
        _ = try await other.createAccount("erin")
        #expect(try await other.procedure("com.atproto.server.requestPasswordReset", ["email": "erin@example.com"]).status == 200)
        try await waitUntil { try await Self.outbox(other).first?.state == "failed" }
        try await Task.sleep(for: .seconds(3))
        let failed = try #require(try await Self.outbox(other).first)
        #expect(failed.attempts == 1 && failed.lastError?.contains("550") == true)
        #expect(try refusing.messages().isEmpty)
        await other.stop()
        await refusing.remove()
    }

    @Test func withoutAnSMTPServerTokensGoToTheLogAndNothingIsQueued() async throws {
        let server = try await TestServer.start()
        let frank = try await server.createAccount("frank")
        #expect(try await server.procedure("com.atproto.server.requestPasswordReset", ["email": "frank@example.com"]).status == 200)
        #expect(try await server.emailToken(frank.did, "reset_password") != nil)
        #expect(try await server.count("SELECT COUNT(*) FROM mail_outbox") == 0)
        await server.stop()
    }

    @Test func templatesInTheDataDirectoryReplaceTheBuiltInOnes() async throws {
        let sink = try await SMTPSink()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pds-mail-templates-\(UUID().uuidString)")
        let templates = directory.appendingPathComponent("mail-templates")
        try FileManager.default.createDirectory(at: templates, withIntermediateDirectories: true)
        try "Subject: Reset for {{handle}} ✓\n\nHi {{handle}} & co: {{token}}\n".write(
            to: templates.appendingPathComponent("reset_password.txt.mustache"), atomically: true, encoding: .utf8)
        let server = try await TestServer.start {
            Self.configure(&$0, sink: sink)
            $0.dataDirectory = directory.path
        }
        let grace = try await server.createAccount("grace")
        _ = try await server.procedure("com.atproto.server.requestPasswordReset", ["email": "grace@example.com"])
        let message = try #require(try await sink.waitForMessages(1).first)
        let token = try #require(try await server.emailToken(grace.did, "reset_password"))
        #expect(message.subject == "Reset for grace.test ✓")
        #expect(message.text.replacingOccurrences(of: "\r\n", with: "\n") == "Hi grace.test & co: \(token)\n")
        // The HTML part is still the built-in one.
        #expect(message.html.contains("Reset your password"))
        await server.stop()

        // A template without its subject line stops the server from starting.
        try "no subject here".write(to: templates.appendingPathComponent("sign_in.txt.mustache"), atomically: true, encoding: .utf8)
        var config = PDSConfig()
        config.dataDirectory = directory.path
        #expect(throws: MailTemplateError.self) { try PDSServices(config: config, passwordStrength: .testing) }
        try? FileManager.default.removeItem(at: directory)
        await sink.remove()
    }

    @Test func badMailSettingsAreRefusedAtStart() throws {
        for environment in [
            ["PDS_EMAIL_SMTP_URL": "http://mail.example.com", "PDS_EMAIL_FROM_ADDRESS": "pds@example.com"],
            ["PDS_EMAIL_SMTP_URL": "smtp://mail.example.com"],
            ["PDS_EMAIL_SMTP_URL": "smtp://mail.example.com", "PDS_EMAIL_FROM_ADDRESS": "not an address"],
            ["PDS_REPORT_SERVICE_URL": "https://mod.example.com"],
        ] {
            #expect(throws: PDSConfig.ConfigError.self, "\(environment)") { try PDSConfig.load(file: nil, environment: environment) }
        }
        let config = try PDSConfig.load(
            file: nil, environment: ["PDS_EMAIL_SMTP_URL": "smtps://u:p@smtp.example.com", "PDS_EMAIL_FROM_ADDRESS": "PDS <pds@example.com>"])
        #expect(try config.mail.server()?.port == 465)
    }
}

/// Polls `condition` every 100 ms for up to `seconds`.
func waitUntil(seconds: Double = 15, _ condition: () async throws -> Bool) async throws {
    let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
    while ContinuousClock.now < deadline {
        if try await condition() { return }
        try await Task.sleep(for: .milliseconds(100))
    }
    throw TestError("the condition did not hold within \(seconds) s")
}
