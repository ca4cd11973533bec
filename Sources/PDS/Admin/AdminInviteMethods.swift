import ATProto
import Foundation
import ServiceStorage

/// The admin methods of the reference PDS for invite codes: listing them
/// all, disabling codes, and taking away an account's codes.
enum AdminInviteMethods {
    static func register(_ methods: inout XRPCMethods) {
        methods.procedure("com.atproto.admin.disableAccountInvites", disableAccountInvites)
        methods.procedure("com.atproto.admin.enableAccountInvites", enableAccountInvites)
        methods.procedure("com.atproto.admin.disableInviteCodes", disableInviteCodes)
        methods.query("com.atproto.admin.getInviteCodes", getInviteCodes)
    }

    static func disableAccountInvites(_ call: XRPCCall) async throws -> XRPCResult {
        try call.requireAdmin()
        let did = try AdminAccountMethods.did(try await call.jsonBody(), "account")
        try await AccountAdmin.setInvitesDisabled(did: did, true, services: call.services)
        return .empty
    }

    static func enableAccountInvites(_ call: XRPCCall) async throws -> XRPCResult {
        try call.requireAdmin()
        let did = try AdminAccountMethods.did(try await call.jsonBody(), "account")
        try await AccountAdmin.setInvitesDisabled(did: did, false, services: call.services)
        return .empty
    }

    static func disableInviteCodes(_ call: XRPCCall) async throws -> XRPCResult {
        try call.requireAdmin()
        let input = try await call.jsonBody()
        try await AccountAdmin.disableInviteCodes(
            codes: try strings(input, "codes"), accounts: try strings(input, "accounts"), services: call.services)
        return .empty
    }

    /// An optional array of strings of the input.
    static func strings(_ input: DataMap, _ key: String) throws -> [String] {
        switch input[key] {
        case nil, .null?: return []
        case .array(let items)?:
            return try items.map { item in
                guard case .string(let value) = item else { throw XRPCError.invalidRequest("Input/\(key) must be an array of strings") }
                return value
            }
        default: throw XRPCError.invalidRequest("Input/\(key) must be an array of strings")
        }
    }

    /// Every code, newest (`sort=recent`, the default) or most used
    /// (`sort=usage`) first, `limit` 1 to 500 (100).
    static func getInviteCodes(_ call: XRPCCall) async throws -> XRPCResult {
        try call.requireAdmin()
        let rawSort = call.param("sort") ?? "recent"
        guard let order = InviteCodes.Order(rawValue: rawSort) else { throw XRPCError.invalidRequest("unknown sort method: \(rawSort)") }
        let limit = try call.intParam("limit", default: 100, range: 1...500)
        let cursor = call.param("cursor")
        let page = try await call.services.storage.read { tx in try InviteCodes.page(order: order, limit: limit, cursor: cursor, in: tx) }
        var body: DataMap = ["codes": .array(page.codes)]
        if let next = page.cursor { body["cursor"] = .string(next) }
        return .json(.map(body))
    }
}
