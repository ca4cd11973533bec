import ATProto
import Foundation
import ServiceStorage

/// Invite codes over XRPC: `com.atproto.server.createInviteCode` and
/// `createInviteCodes` (admin only) and `getAccountInviteCodes` (the
/// caller's own codes). `createAccount` spends them when the server
/// requires invites.
enum InviteMethods {
    static func register(_ methods: inout XRPCMethods) {
        methods.procedure("com.atproto.server.createInviteCode", createInviteCode)
        methods.procedure("com.atproto.server.createInviteCodes", createInviteCodes)
        methods.query("com.atproto.server.getAccountInviteCodes", getAccountInviteCodes)
    }

    static func createInviteCode(_ call: XRPCCall) async throws -> XRPCResult {
        try call.requireAdmin()
        let input = try await call.jsonBody()
        let uses = try input.requiredInteger("useCount")
        let forAccount = try input.optionalString("forAccount")
        let made = try await AccountAdmin.createInviteCodes(
            count: 1, uses: uses, forAccounts: forAccount.map { [$0] } ?? [], services: call.services)
        return .json(["code": .string(made[0].codes[0])])
    }

    static func createInviteCodes(_ call: XRPCCall) async throws -> XRPCResult {
        try call.requireAdmin()
        let input = try await call.jsonBody()
        let count = try input.optionalInteger("codeCount") ?? 1
        let uses = try input.requiredInteger("useCount")
        var forAccounts: [String] = []
        switch input["forAccounts"] {
        case nil, .null?: break
        case .array(let items)?:
            for item in items {
                guard case .string(let did) = item else { throw XRPCError.invalidRequest("Input/forAccounts must be an array of DIDs") }
                forAccounts.append(did)
            }
        default: throw XRPCError.invalidRequest("Input/forAccounts must be an array of DIDs")
        }
        let made = try await AccountAdmin.createInviteCodes(count: count, uses: uses, forAccounts: forAccounts, services: call.services)
        return .json([
            "codes": .array(made.map { ["account": .string($0.account), "codes": .array($0.codes.map { .string($0) })] })
        ])
    }

    static func getAccountInviteCodes(_ call: XRPCCall) async throws -> XRPCResult {
        let user = try await call.authenticate(allowAppPassword: false)
        let includeUsed = try call.boolParam("includeUsed", default: true)
        // createAvailable asks for earned codes to be made; this server
        // grants no earned codes (admins create them), so there is nothing to make.
        _ = try call.boolParam("createAvailable", default: true)
        let codes = try await call.services.storage.read { tx in
            try InviteCodes.views(forAccount: user.did, includeUsed: includeUsed, in: tx)
        }
        return .json(["codes": .array(codes)])
    }
}

extension DataMap {
    /// A required integer field (for inputs of this file's methods).
    fileprivate func requiredInteger(_ key: String) throws(XRPCError) -> Int {
        guard let value = try optionalInteger(key) else {
            throw .invalidRequest("Input must have the property \"\(key)\" as an integer")
        }
        return value
    }

    /// An optional integer field.
    fileprivate func optionalInteger(_ key: String) throws(XRPCError) -> Int? {
        switch self[key] {
        case nil, .null?: return nil
        case .int(let i)?: return Int(i)
        default: throw .invalidRequest("Input/\(key) must be an integer")
        }
    }
}
