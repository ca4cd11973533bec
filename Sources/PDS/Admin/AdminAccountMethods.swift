import ATProto
import Foundation
import ServiceStorage

/// The admin methods of the reference PDS that change or describe
/// accounts, behind the admin password. Unlike the reference, which
/// ignores them, an unknown DID is an error here (`AccountNotFound`) and
/// changes nothing.
enum AdminAccountMethods {
    static func register(_ methods: inout XRPCMethods) {
        methods.procedure("com.atproto.admin.deleteAccount", deleteAccount)
        methods.query("com.atproto.admin.getAccountInfos", getAccountInfos)
        methods.procedure("com.atproto.admin.sendEmail", sendEmail)
        methods.procedure("com.atproto.admin.updateAccountEmail", updateAccountEmail)
        methods.procedure("com.atproto.admin.updateAccountHandle", updateAccountHandle)
        methods.procedure("com.atproto.admin.updateAccountPassword", updateAccountPassword)
    }

    /// A DID field of the input.
    static func did(_ input: DataMap, _ key: String) throws -> DID {
        let raw = try input.requiredString(key)
        guard let did = try? DID(raw) else { throw XRPCError.invalidRequest("Input/\(key) must be a DID") }
        return did
    }

    static func deleteAccount(_ call: XRPCCall) async throws -> XRPCResult {
        try call.requireAdmin()
        let did = try did(try await call.jsonBody(), "did")
        try await AccountAdmin.delete(did: did, services: call.services)
        return .empty
    }

    /// Accounts by DID, unknown ones left out (as the reference does): at
    /// most 100 per call.
    static func getAccountInfos(_ call: XRPCCall) async throws -> XRPCResult {
        try call.requireAdmin()
        let raw = call.params("dids")
        guard !raw.isEmpty else { throw XRPCError.invalidRequest("Params must have the property \"dids\"") }
        guard raw.count <= 100 else { throw XRPCError.invalidRequest("At most 100 dids per call") }
        var infos: [DataValue] = []
        for value in raw {
            guard let did = try? DID(value) else { throw XRPCError.invalidRequest("dids must be DIDs: \(value)") }
            guard let account = try await call.services.accounts.account(did: did), account.status != .deleted else { continue }
            infos.append(.map(try await AdminMethods.accountView(account, services: call.services)))
        }
        return .json(["infos": .array(infos)])
    }

    /// Mails the account the operator's HTML message (`content`) through
    /// the outbox. - Returns: `{sent}`: false when no SMTP server is
    /// configured and the message went to the log.
    static func sendEmail(_ call: XRPCCall) async throws -> XRPCResult {
        try call.requireAdmin()
        let services = call.services
        let input = try await call.jsonBody()
        let recipient = try did(input, "recipientDid")
        let content = try input.requiredString("content")
        _ = try did(input, "senderDid")
        let subject = try input.optionalString("subject") ?? "Message via your PDS"
        let comment = try input.optionalString("comment") ?? ""
        guard content.utf8.count <= 100_000 else { throw XRPCError.invalidRequest("content must be at most 100,000 bytes") }
        guard let account = try await AccountAdmin.find(recipient.string, services: services) else {
            throw XRPCError.invalidRequest("Recipient not found")
        }
        guard let address = account.email else { throw XRPCError.invalidRequest("account does not have an email address") }
        let mailer = services.mailer
        let sent = try await services.storage.write { tx in
            try mailer.queueMessage(subject: subject, html: content, to: address, did: recipient, in: tx)
        }
        mailer.notify()
        services.logger.notice(
            "operator message to an account", metadata: ["did": .string(recipient.string), "comment": .string(comment)])
        return .json(["sent": .bool(sent)])
    }

    static func updateAccountEmail(_ call: XRPCCall) async throws -> XRPCResult {
        try call.requireAdmin()
        let input = try await call.jsonBody()
        // `account` is a DID or handle in the lexicon; the reference looks it up either way.
        let identifier = try input.requiredString("account")
        guard let account = try await AccountAdmin.find(identifier, services: call.services) else {
            throw XRPCError(.badRequest, "AccountNotFound", "Account does not exist: \(identifier)")
        }
        try await AccountAdmin.updateEmail(did: account.did, email: try input.requiredString("email"), services: call.services)
        return .empty
    }

    static func updateAccountHandle(_ call: XRPCCall) async throws -> XRPCResult {
        try call.requireAdmin()
        let input = try await call.jsonBody()
        try await AccountAdmin.updateHandle(did: try did(input, "did"), handle: try input.requiredString("handle"), services: call.services)
        return .empty
    }

    static func updateAccountPassword(_ call: XRPCCall) async throws -> XRPCResult {
        try call.requireAdmin()
        let input = try await call.jsonBody()
        try await AccountAdmin.setPassword(did: try did(input, "did"), password: try input.requiredString("password"), services: call.services)
        return .empty
    }
}
