import ATProto
import Foundation
import ServiceStorage

/// Sending an account one of its tokens: the token and its message are
/// written in one transaction, so neither exists without the other.
enum AccountMail {
    /// Issues a token of `purpose` (replacing a pending one) and queues
    /// its message to `address`, by default the account's email.
    /// - Throws: `InvalidRequest` when the account has no email address.
    static func sendToken(_ purpose: EmailTokens.Purpose, account: Account, to address: String? = nil, services: PDSServices) async throws {
        guard let address = address ?? account.email else {
            throw XRPCError.invalidRequest("account does not have an email address")
        }
        let now = Int(Date().timeIntervalSince1970)
        let mailer = services.mailer
        try await services.storage.write { tx in
            let token = try EmailTokens.issue(purpose, did: account.did, now: now, in: tx)
            try mailer.queue(purpose, token: token, to: address, account: account, in: tx)
        }
        mailer.notify()
    }
}
