import ATProto
import Foundation
import Logging
import Mail
import ServiceStorage

/// The server's mail: messages rendered from ``MailTemplates`` and queued
/// in the outbox inside the caller's transaction, for ``MailDispatcher``
/// to hand to the SMTP server. With no SMTP server configured, a message
/// is written to the log instead (the operator reads tokens there, as the
/// reference PDS's log has them).
public final class Mailer: Sendable {
    /// The SMTP server's client; nil when mail goes to the log.
    let client: SMTPClient?
    let sender: MailAddress?
    let templates: MailTemplates
    let hostname: String
    let logger: Logger
    /// Wakes the dispatcher when a message was queued (one pending wake-up
    /// stands for any number).
    let wakeups: AsyncStream<Void>
    private let wakeup: AsyncStream<Void>.Continuation

    init(config: PDSConfig, logger: Logger) throws {
        templates = try MailTemplates(dataDirectory: config.dataDirectory, logger: logger)
        hostname = config.hostname
        self.logger = logger
        let sender = try config.mail.sender()
        self.sender = sender
        if let server = try config.mail.server(), sender != nil {
            client = try SMTPClient(server: server, heloName: config.hostname, trustedCertificatesFile: config.mail.trustedCertificatesFile)
        } else {
            client = nil
        }
        (wakeups, wakeup) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    /// Whether messages go to an SMTP server (else to the log).
    var delivers: Bool { client != nil }

    /// Queues the message of `purpose` carrying `token` to `address`.
    func queue(_ purpose: EmailTokens.Purpose, token: String, to address: String, account: Account, in tx: WriteTransaction) throws {
        let values = [
            "token": token, "handle": account.handle.string, "hostname": hostname, "email": address,
            "minutes": String(EmailTokens.lifetime / 60),
        ]
        let message = templates.render(purpose, values: values)
        guard delivers else {
            logger.info(
                "email token issued; no SMTP server is configured (PDS_EMAIL_SMTP_URL), so it is written to this log instead of mailed",
                metadata: [
                    "did": .string(account.did.string), "purpose": .string(purpose.rawValue), "token": .string(token),
                    "email": .string(address), "expiresInSeconds": .stringConvertible(EmailTokens.lifetime),
                ])
            return
        }
        try queue(kind: purpose.rawValue, subject: message.subject, text: message.text, html: message.html, to: address, in: tx)
    }

    /// Queues a message of the operator's (`com.atproto.admin.sendEmail`).
    /// - Returns: whether it was queued for an SMTP server (false: it went
    ///   to the log).
    func queueMessage(subject: String, html: String, to address: String, did: DID, in tx: WriteTransaction) throws -> Bool {
        guard delivers else {
            logger.info(
                "message to an account; no SMTP server is configured (PDS_EMAIL_SMTP_URL), so it is written to this log instead of mailed",
                metadata: ["did": .string(did.string), "email": .string(address), "subject": .string(subject), "content": .string(html)])
            return false
        }
        try queue(kind: "admin_message", subject: subject, text: HTMLText.plain(html), html: html, to: address, in: tx)
        return true
    }

    private func queue(kind: String, subject: String, text: String, html: String?, to address: String, in tx: WriteTransaction) throws {
        guard let sender else { return }
        guard let recipient = try? MailAddress(address) else {
            throw XRPCError.invalidRequest("the account's email address \(address) cannot receive mail")
        }
        let domain = sender.address.split(separator: "@").last.map(String.init) ?? hostname
        let message = MailMessage(
            from: sender, to: recipient, subject: subject, text: text, html: html, messageID: MailMessage.newMessageID(domain: domain))
        let now = Int(Date().timeIntervalSince1970)
        // A new token replaces the pending one: its message would carry a dead code.
        if EmailTokens.Purpose(rawValue: kind) != nil { try MailOutbox.supersede(kind: kind, recipient: address, now: now, in: tx) }
        try MailOutbox.append(kind: kind, recipient: address, messageID: message.messageID, message: message.rendered(), now: now, in: tx)
    }

    /// Wakes the dispatcher; call once the transaction that queued a
    /// message committed.
    func notify() {
        wakeup.yield(())
    }

    /// Ends the wake-ups (the dispatcher's loop ends with them).
    func finish() {
        wakeup.finish()
    }
}

/// The text of an HTML message of the operator's, for its plain-text part.
enum HTMLText {
    /// Tags dropped, `<br>`, `</p>` and `</div>` as line breaks, the five
    /// basic entities decoded.
    static func plain(_ html: String) -> String {
        var text = html.replacingOccurrences(of: "<br\\s*/?>|</p>|</div>|</h[1-6]>|</li>", with: "\n", options: [.regularExpression, .caseInsensitive])
        text = text.replacingOccurrences(of: "<[^>]*>", with: "", options: .regularExpression)
        for (entity, character) in [("&lt;", "<"), ("&gt;", ">"), ("&quot;", "\""), ("&#39;", "'"), ("&nbsp;", " "), ("&amp;", "&")] {
            text = text.replacingOccurrences(of: entity, with: character)
        }
        return text.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
