import Foundation
import NIOCore
import NIOPosix
import NIOSSL

/// Hands messages to one SMTP server (a submission server or a relay such
/// as Postmark's, Resend's or the operator's own), one connection per
/// message: EHLO, STARTTLS when offered, AUTH PLAIN or LOGIN when
/// credentials are set, then MAIL, RCPT, DATA and QUIT.
///
/// Every step has a deadline: 10 s to connect and 60 s for each reply (RFC
/// 5321 §4.5.3.2 allows minutes, but the servers a PDS submits to answer
/// in well under a second, and a mail queue must not hang on a dead one).
/// Nothing is sent unencrypted to another machine (``SMTPServerURL/requiresTLS``).
public struct SMTPClient: Sendable {
    public let server: SMTPServerURL
    /// The name given in EHLO: the PDS's host name.
    public let heloName: String
    public var connectTimeout: Duration = .seconds(10)
    public var replyTimeout: Duration = .seconds(60)
    /// The most one message may take in all (a server answering each step
    /// just within `replyTimeout` would otherwise hold the queue for many
    /// minutes).
    public var messageTimeout: Duration = .seconds(180)
    private let tlsContext: NIOSSLContext

    /// - Parameter trustedCertificatesFile: a PEM file of certificates
    ///   trusted beside the system's (a relay with a private CA).
    public init(server: SMTPServerURL, heloName: String, trustedCertificatesFile: String? = nil) throws {
        self.server = server
        self.heloName = heloName.unicodeScalars.allSatisfy({ $0.isASCII && $0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "." || $0 == "-" })
            && !heloName.isEmpty ? heloName : "localhost"
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = .tlsv12
        if let trustedCertificatesFile { configuration.additionalTrustRoots = [.file(trustedCertificatesFile)] }
        tlsContext = try NIOSSLContext(configuration: configuration)
    }

    /// Delivers `message` (as rendered by ``MailMessage/rendered()``) from
    /// `sender` to `recipients`. - Returns: the server's reply accepting it.
    /// - Throws: ``SMTPError``; its `isPermanent` says whether to try again.
    @discardableResult
    public func send(_ message: [UInt8], from sender: MailAddress, to recipients: [MailAddress]) async throws -> SMTPReply {
        let (channel, upgrade) = try await connect()
        let deadline = channel.channel.eventLoop.scheduleTask(in: TimeAmount(messageTimeout)) { channel.channel.close(promise: nil) }
        defer { deadline.cancel() }
        return try await channel.executeThenClose { inbound, outbound in
            var conversation = SMTPConversation(
                channel: channel.channel, replies: inbound.makeAsyncIterator(), outbound: outbound, upgrade: upgrade, timeout: replyTimeout)
            do {
                return try await deliver(message, from: sender, to: recipients, over: &conversation)
            } catch let error as SMTPError {
                throw error
            } catch let error as NIOSSLError {
                throw SMTPError.tls("\(error)")
            } catch let error as BoringSSLError {
                throw SMTPError.tls("\(error)")
            } catch {
                throw SMTPError.connectionFailed("\(error)")
            }
        }
    }

    private func deliver(
        _ message: [UInt8], from sender: MailAddress, to recipients: [MailAddress], over conversation: inout SMTPConversation
    ) async throws -> SMTPReply {
        try await conversation.expect(220, after: "the greeting")
        var capabilities = try await conversation.hello(heloName)
        if server.security == .startTLSWhenOffered {
            if capabilities.offers("STARTTLS") {
                try await conversation.startTLS(context: tlsContext, serverHostname: server.host)
                capabilities = try await conversation.hello(heloName)
            } else if server.requiresTLS {
                // Tokens (password resets, sign-in codes) must not cross a
                // network in the clear, nor a password: a server that
                // offers no STARTTLS, or a man in the middle who struck it
                // from the EHLO reply, gets nothing.
                throw SMTPError.encryptionUnavailable(host: server.host)
            }
        }
        if let username = server.username {
            try await conversation.authenticate(username: username, password: server.password ?? "", offered: capabilities.authMechanisms)
        }
        try await conversation.command("MAIL FROM:<\(sender.address)>", expect: 250)
        for recipient in recipients {
            try await conversation.command("RCPT TO:<\(recipient.address)>", expect: 250, 251)
        }
        try await conversation.command("DATA", expect: 354)
        let accepted = try await conversation.send(data: SMTPData.stuffed(message))
        // The message is the server's now: QUIT without waiting for its
        // reply, so the caller marks the message sent at once (a crash
        // while waiting would send it again).
        try? await conversation.outbound.write(ByteBuffer(string: "QUIT\r\n"))
        return accepted
    }

    private func connect() async throws -> (NIOAsyncChannel<SMTPReply, ByteBuffer>, NIOLoopBound<STARTTLSUpgrade>) {
        let implicitTLS = server.security == .implicitTLS
        let tlsContext = tlsContext
        let host = server.host
        do {
            return try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connectTimeout(TimeAmount(connectTimeout))
                .connect(host: host, port: server.port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        if implicitTLS {
                            try channel.pipeline.syncOperations.addHandler(
                                NIOSSLClientHandler(context: tlsContext, serverHostname: SMTPConversation.sniName(host)))
                        }
                        let upgrade = STARTTLSUpgrade()
                        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(SMTPReplyDecoder(upgrade: upgrade)))
                        return (
                            try NIOAsyncChannel<SMTPReply, ByteBuffer>(wrappingChannelSynchronously: channel),
                            NIOLoopBound(upgrade, eventLoop: channel.eventLoop)
                        )
                    }
                }
        } catch {
            throw SMTPError.connectionFailed("\(server): \(error)")
        }
    }
}

/// The server's EHLO reply: the extensions it offers.
struct SMTPCapabilities {
    let keywords: [String]

    init(ehlo reply: SMTPReply?) {
        keywords = (reply?.lines.dropFirst() ?? []).map { $0.uppercased() }
    }

    func offers(_ keyword: String) -> Bool {
        keywords.contains { $0 == keyword || $0.hasPrefix(keyword + " ") }
    }

    /// `AUTH PLAIN LOGIN` (and the old `AUTH=PLAIN LOGIN`).
    var authMechanisms: [String] {
        keywords.filter { $0.hasPrefix("AUTH ") || $0.hasPrefix("AUTH=") }.flatMap { $0.dropFirst(5).split(separator: " ").map(String.init) }
    }
}

/// Dot-stuffing (RFC 5321 §4.5.2): the message's lines end in CRLF, a line
/// that starts with `.` gets a second one, and `.` alone on the last line
/// ends the data.
enum SMTPData {
    static func stuffed(_ message: [UInt8]) -> ByteBuffer {
        var out = ByteBuffer()
        out.reserveCapacity(message.count + message.count / 64 + 5)
        var lineStart = true
        var previous: UInt8 = 0
        for byte in message {
            if lineStart && byte == UInt8(ascii: ".") { out.writeInteger(UInt8(ascii: ".")) }
            if byte == UInt8(ascii: "\n") && previous != UInt8(ascii: "\r") { out.writeInteger(UInt8(ascii: "\r")) }
            out.writeInteger(byte)
            lineStart = byte == UInt8(ascii: "\n")
            previous = byte
        }
        if !lineStart { out.writeString("\r\n") }
        out.writeString(".\r\n")
        return out
    }
}
