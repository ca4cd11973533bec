import Foundation
import Logging
import Mail
import ServiceLifecycle

/// Hands the outbox's messages to the SMTP server, oldest first: at once
/// when one is queued, and a message the server did not take is tried again
/// with a backoff that doubles from 2 seconds up to 10 minutes (a token
/// lasts 15 minutes: a short outage must not outlast it), also after a
/// restart. When the server cannot be reached at all, the other due
/// messages wait with the first instead of each waiting out its own
/// timeout. A message is given up, and logged as an error, when the server
/// refuses it for good (5xx), when the token it carries has expired, or
/// (an operator's message) after 24 hours.
///
/// Delivery is at least once: a message is marked sent right after the
/// server's 250, so only a crash between the two (or a connection lost
/// after the data but before the reply) sends it again, with the same
/// `Message-ID`.
public struct MailDispatcher: Service {
    let services: PDSServices

    /// The backoff's bounds and the give-up age, in seconds.
    static let firstRetry = 2
    static let longestRetry = 600
    static let giveUpAfter = 24 * 3600
    /// How long sent and failed rows stay for the operator to look at.
    static let keepSent = 7 * 24 * 3600
    static let keepFailed = 30 * 24 * 3600

    public init(services: PDSServices) {
        self.services = services
    }

    public func run() async throws {
        let mailer = services.mailer
        guard let client = mailer.client, let sender = mailer.sender else {
            services.logger.notice(
                "no SMTP server is configured (PDS_EMAIL_SMTP_URL): tokens for email confirmation, password resets and the like are written to this log")
            try? await gracefulShutdown()
            return
        }
        services.logger.info("mail goes to \(client.server)", metadata: ["from": .string(sender.address)])
        await withGracefulShutdownHandler {
            await withTaskGroup(of: Void.self) { group in
                // Retries fall due without a queued message to wake the loop.
                group.addTask {
                    while !Task.isCancelled {
                        try? await Task.sleep(for: .seconds(1))
                        mailer.notify()
                    }
                }
                var lastPrune = 0
                for await _ in mailer.wakeups {
                    await deliverDue(client: client, sender: sender)
                    let now = Int(Date().timeIntervalSince1970)
                    if now - lastPrune > 3600 {
                        lastPrune = now
                        try? await services.storage.write { tx in
                            try MailOutbox.prune(sentBefore: now - Self.keepSent, failedBefore: now - Self.keepFailed, in: tx)
                        }
                    }
                }
                group.cancelAll()
            }
        } onGracefulShutdown: {
            mailer.finish()
        }
    }

    /// Tries every due message once, until the server proves unreachable.
    func deliverDue(client: SMTPClient, sender: MailAddress) async {
        let now = Int(Date().timeIntervalSince1970)
        guard let due = try? await services.storage.read({ tx in try MailOutbox.due(now: now, in: tx) }) else { return }
        for message in due {
            if Task.isShuttingDownGracefully { return }
            if let retryAt = await deliver(message, client: client, sender: sender) {
                try? await services.storage.write { tx in try MailOutbox.postponeDue(before: retryAt, in: tx) }
                return
            }
        }
    }

    /// How long a message is worth trying: a token's lifetime, or a day
    /// for an operator's message.
    static func lifetime(kind: String) -> Int {
        EmailTokens.Purpose(rawValue: kind) != nil ? EmailTokens.lifetime : giveUpAfter
    }

    /// One attempt. - Returns: when the server could not be reached (no
    /// reply refused this message), the time of the next attempt, for the
    /// other due messages too.
    private func deliver(_ message: MailOutbox.Pending, client: SMTPClient, sender: MailAddress) async -> Int? {
        let logger = services.logger
        var metadata: Logger.Metadata = ["mail": .stringConvertible(message.id), "kind": .string(message.kind)]
        do {
            guard let recipient = try? MailAddress(message.recipient) else {
                throw SMTPError.refused(command: "RCPT", reply: SMTPReply(code: 553, lines: ["not an email address"]))
            }
            let reply = try await client.send(message.message, from: sender, to: [recipient])
            let now = Int(Date().timeIntervalSince1970)
            do {
                try await services.storage.write { tx in try MailOutbox.markSent(id: message.id, now: now, in: tx) }
            } catch {
                logger.error("mail sent but not marked so; it may be sent again", metadata: metadata.merging(["error": "\(error)"]) { $1 })
            }
            services.metrics.recordMail(outcome: "sent")
            metadata["reply"] = .string(reply.description)
            logger.info("mail sent", metadata: metadata)
            return nil
        } catch {
            let now = Int(Date().timeIntervalSince1970)
            metadata["error"] = "\(error)"
            metadata["attempts"] = .stringConvertible(message.attempts + 1)
            let permanent = (error as? SMTPError)?.isPermanent ?? false
            if permanent || now - message.createdAt >= Self.lifetime(kind: message.kind) {
                try? await services.storage.write { tx in try MailOutbox.markFailed(id: message.id, error: "\(error)", now: now, in: tx) }
                services.metrics.recordMail(outcome: "failed")
                logger.error(permanent ? "mail refused for good; not retried" : "mail not delivered while it was of use; given up", metadata: metadata)
                return nil
            }
            let backoff = min(Self.longestRetry, Self.firstRetry << min(message.attempts, 10))
            try? await services.storage.write { tx in
                try MailOutbox.markRetry(id: message.id, error: "\(error)", nextAttempt: now + backoff, in: tx)
            }
            services.metrics.recordMail(outcome: "retried")
            metadata["retryInSeconds"] = .stringConvertible(backoff)
            logger.warning("mail not delivered; will retry", metadata: metadata)
            // A refusal is about this message; anything else, about the server.
            if case .refused? = error as? SMTPError { return nil }
            return now + backoff
        }
    }
}
