import Foundation
import NIOCore
import NIOSSL

/// One SMTP connection's commands and replies, each reply within the
/// client's deadline.
struct SMTPConversation {
    let channel: any Channel
    var replies: NIOAsyncChannelInboundStream<SMTPReply>.AsyncIterator
    let outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>
    let upgrade: NIOLoopBound<STARTTLSUpgrade>
    let timeout: Duration

    /// The next reply, which must have one of `codes`.
    @discardableResult
    mutating func expect(_ codes: Int..., after command: String) async throws -> SMTPReply {
        let reply = try await next(after: command)
        guard codes.contains(reply.code) else { throw SMTPError.refused(command: command, reply: reply) }
        return reply
    }

    /// Sends `line` and reads its reply, which must have one of `codes`.
    /// Errors name the command by `label`, by default the line's verb; a
    /// line that holds a credential must be given a label (AUTH LOGIN's
    /// lines are nothing but base64).
    @discardableResult
    mutating func command(_ line: String, label: String? = nil, expect codes: Int...) async throws -> SMTPReply {
        try await outbound.write(ByteBuffer(string: line + "\r\n"))
        let verb = label ?? String(line.prefix(while: { $0 != " " && $0 != ":" }))
        let reply = try await next(after: verb)
        guard codes.contains(reply.code) else { throw SMTPError.refused(command: verb, reply: reply) }
        return reply
    }

    /// EHLO, or HELO for a server that does not know EHLO (then it offers
    /// no extensions).
    mutating func hello(_ name: String) async throws -> SMTPCapabilities {
        try await outbound.write(ByteBuffer(string: "EHLO \(name)\r\n"))
        let reply = try await next(after: "EHLO")
        if reply.code == 250 { return SMTPCapabilities(ehlo: reply) }
        guard reply.code >= 500 else { throw SMTPError.refused(command: "EHLO", reply: reply) }
        try await command("HELO \(name)", expect: 250)
        return SMTPCapabilities(ehlo: nil)
    }

    /// AUTH PLAIN (RFC 4616) when offered, else AUTH LOGIN.
    mutating func authenticate(username: String, password: String, offered: [String]) async throws {
        if offered.contains("PLAIN") {
            let credentials = Data(([0] + Array(username.utf8) + [0] + Array(password.utf8))).base64EncodedString()
            try await command("AUTH PLAIN \(credentials)", label: "AUTH PLAIN", expect: 235)
        } else if offered.contains("LOGIN") {
            try await command("AUTH LOGIN", expect: 334)
            try await command(Data(username.utf8).base64EncodedString(), label: "AUTH LOGIN (user name)", expect: 334)
            try await command(Data(password.utf8).base64EncodedString(), label: "AUTH LOGIN (password)", expect: 235)
        } else {
            throw SMTPError.noSupportedAuthentication(offered: offered.joined(separator: " "))
        }
    }

    /// STARTTLS: the reply decoder puts TLS under the conversation at the
    /// server's `220` (``STARTTLSUpgrade``).
    mutating func startTLS(context: NIOSSLContext, serverHostname: String) async throws {
        let upgrade = upgrade
        let name = Self.sniName(serverHostname)
        try await channel.eventLoop.submit { upgrade.value.arm(context: context, serverHostname: name) }.get()
        try await command("STARTTLS", expect: 220)
    }

    /// Writes the dot-stuffed data and its terminator; returns the reply
    /// accepting the message.
    mutating func send(data: ByteBuffer) async throws -> SMTPReply {
        try await outbound.write(data)
        let reply = try await next(after: "the message")
        guard reply.code == 250 else { throw SMTPError.refused(command: "the message", reply: reply) }
        return reply
    }

    /// A host name for SNI and certificate checks; an IP address is
    /// matched against the certificate's addresses instead.
    static func sniName(_ host: String) -> String? {
        var v4 = in_addr()
        var v6 = in6_addr()
        if inet_pton(AF_INET, host, &v4) == 1 || inet_pton(AF_INET6, host, &v6) == 1 { return nil }
        return host
    }

    /// The next reply, or a timeout: a timer closes the channel when none
    /// came in time, which ends the wait.
    private mutating func next(after command: String) async throws -> SMTPReply {
        let channel = channel
        let start = ContinuousClock.now
        let timer = channel.eventLoop.scheduleTask(in: TimeAmount(timeout)) {
            channel.close(promise: nil)
        }
        defer { timer.cancel() }
        guard let reply = try await replies.next() else {
            if ContinuousClock.now - start >= timeout { throw SMTPError.timedOut("after \(command)") }
            throw SMTPError.connectionFailed("the server closed the connection after \(command)")
        }
        return reply
    }
}
