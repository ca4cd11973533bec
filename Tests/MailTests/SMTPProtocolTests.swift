import NIOCore
import NIOEmbedded
import NIOSSL
import Testing

@testable import Mail

/// Reading the server's replies and the configured URL.
@Suite struct SMTPProtocolTests {
    @Test func multilineRepliesAreOneReply() throws {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(SMTPReplyDecoder(upgrade: STARTTLSUpgrade())))
        try channel.writeInbound(ByteBuffer(string: "220 mail.example.com ESMTP\r\n250-mail.example.com\r\n250-STARTTLS\r\n250-AUTH PLAIN"))
        #expect(try channel.readInbound(as: SMTPReply.self) == SMTPReply(code: 220, lines: ["mail.example.com ESMTP"]))
        #expect(try channel.readInbound(as: SMTPReply.self) == nil)
        try channel.writeInbound(ByteBuffer(string: " LOGIN\r\n250 SIZE 10240000\n"))
        let ehlo = try #require(try channel.readInbound(as: SMTPReply.self))
        #expect(ehlo.lines == ["mail.example.com", "STARTTLS", "AUTH PLAIN LOGIN", "SIZE 10240000"])
        let capabilities = SMTPCapabilities(ehlo: ehlo)
        #expect(capabilities.offers("STARTTLS") && capabilities.offers("SIZE") && !capabilities.offers("8BITMIME"))
        #expect(capabilities.authMechanisms == ["PLAIN", "LOGIN"])
        _ = try channel.finish()
    }

    @Test func garbageAndEndlessRepliesAreRefused() throws {
        for bad in ["hello\r\n", "25\r\n", "250+x\r\n", "999 nope\r\n", "250-a\r\n251 b\r\n"] {
            let channel = EmbeddedChannel(handler: ByteToMessageHandler(SMTPReplyDecoder(upgrade: STARTTLSUpgrade())))
            #expect(throws: SMTPError.self, "\(bad)") { try channel.writeInbound(ByteBuffer(string: bad)) }
        }
        let long = EmbeddedChannel(handler: ByteToMessageHandler(SMTPReplyDecoder(upgrade: STARTTLSUpgrade())))
        #expect(throws: SMTPError.self) { try long.writeInbound(ByteBuffer(string: "250 " + String(repeating: "x", count: 5000))) }
        let many = EmbeddedChannel(handler: ByteToMessageHandler(SMTPReplyDecoder(upgrade: STARTTLSUpgrade())))
        #expect(throws: SMTPError.self) { try many.writeInbound(ByteBuffer(string: String(repeating: "250-x\r\n", count: 200))) }
    }

    @Test func tlsStartsAtTheReplyToSTARTTLSAndNothingSentWithItIsRead() throws {
        let context = try NIOSSLContext(configuration: .makeClientConfiguration())
        for (bytes, upgraded) in [("220 go ahead\r\n", true), ("454 not now\r\n", false)] {
            let upgrade = STARTTLSUpgrade()
            let channel = EmbeddedChannel(handler: ByteToMessageHandler(SMTPReplyDecoder(upgrade: upgrade)))
            upgrade.arm(context: context, serverHostname: "mail.example.com")
            try channel.writeInbound(ByteBuffer(string: bytes))
            #expect(try channel.readInbound(as: SMTPReply.self) != nil)
            let hasTLS = (try? channel.pipeline.syncOperations.handler(type: NIOSSLClientHandler.self)) != nil
            #expect(hasTLS == upgraded, "\(bytes)")
            _ = try? channel.finish()
        }
        // A reply smuggled in after the 220 (in the clear) is not taken for
        // one sent over TLS.
        let upgrade = STARTTLSUpgrade()
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(SMTPReplyDecoder(upgrade: upgrade)))
        upgrade.arm(context: context, serverHostname: "mail.example.com")
        #expect(throws: SMTPError.self) { try channel.writeInbound(ByteBuffer(string: "220 go ahead\r\n250-fake\r\n250 AUTH NONE\r\n")) }
        _ = try? channel.finish()
    }

    @Test func plainSMTPIsOnlyForThisMachineUnlessTheURLSaysSo() throws {
        #expect(try SMTPServerURL(parsing: "smtp://mail.example.com").requiresTLS)
        #expect(try !SMTPServerURL(parsing: "smtp://mail.example.com?tls=optional").requiresTLS)
        #expect(try !SMTPServerURL(parsing: "smtp://localhost:25").requiresTLS)
        #expect(try !SMTPServerURL(parsing: "smtp://127.0.0.2:25").requiresTLS)
        #expect(try !SMTPServerURL(parsing: "smtp://[::1]:25").requiresTLS)
        #expect(try SMTPServerURL(parsing: "smtp://127.evil.example").requiresTLS)
        #expect(try !SMTPServerURL(parsing: "smtps://mail.example.com").requiresTLS)
        #expect(throws: SMTPServerURL.Invalid.self) { try SMTPServerURL(parsing: "smtp://mail.example.com?tls=maybe") }
    }

    @Test func displayNamesCannotMakeASecondAddress() throws {
        #expect(try MailAddress("pds@example.com", name: "Foo, Bar <x@y.z>").header == "\"Foo, Bar <x@y.z>\" <pds@example.com>")
        #expect(try MailAddress("pds@example.com", name: #"Say "hi" \ bye"#).header == #""Say \"hi\" \\ bye" <pds@example.com>"#)
        #expect(try MailAddress("pds@example.com", name: "Zoë").header.hasPrefix("=?utf-8?B?"))
    }

    @Test func urlsOfTheReferenceForm() throws {
        let plain = try SMTPServerURL(parsing: "smtp://user%40example.com:p%3Ass@mail.example.com")
        #expect(plain.host == "mail.example.com" && plain.port == 587 && plain.security == .startTLSWhenOffered)
        #expect(plain.username == "user@example.com" && plain.password == "p:ss")
        #expect(plain.description == "smtp://user@example.com@mail.example.com:587")
        let implicit = try SMTPServerURL(parsing: "smtps://resend:key@smtp.resend.com:2465")
        #expect(implicit.port == 2465 && implicit.security == .implicitTLS && !implicit.isLoopback)
        #expect(try SMTPServerURL(parsing: "smtps://smtp.example.com").port == 465)
        #expect(try SMTPServerURL(parsing: "smtp://127.0.0.1:2525").isLoopback)
        for bad in ["http://mail.example.com", "smtp://", "mail.example.com", "smtp://host:0", "smtp://host/path"] {
            #expect(throws: SMTPServerURL.Invalid.self, "\(bad)") { try SMTPServerURL(parsing: bad) }
        }
    }

    @Test func whichFailuresAreWorthRetrying() {
        #expect(SMTPError.refused(command: "RCPT", reply: SMTPReply(code: 550, lines: ["no such user"])).isPermanent)
        #expect(!SMTPError.refused(command: "RCPT", reply: SMTPReply(code: 451, lines: ["try later"])).isPermanent)
        #expect(!SMTPError.connectionFailed("refused").isPermanent)
        #expect(SMTPError.encryptionUnavailable(host: "mail.example.com").isPermanent)
    }
}
