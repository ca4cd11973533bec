import ATProto
import Foundation

/// `com.atproto.server.createAppPassword`, `listAppPasswords` and
/// `revokeAppPassword`. Only a full session (logged in with the account
/// password) may manage app passwords: an app-password session cannot make
/// itself new ones or revoke others.
enum AppPasswordMethods {
    static func register(_ methods: inout XRPCMethods) {
        methods.procedure("com.atproto.server.createAppPassword", createAppPassword)
        methods.query("com.atproto.server.listAppPasswords", listAppPasswords)
        methods.procedure("com.atproto.server.revokeAppPassword", revokeAppPassword)
    }

    static func createAppPassword(_ call: XRPCCall) async throws -> XRPCResult {
        let user = try await call.authenticate(allowAppPassword: false)
        let input = try await call.jsonBody()
        let name = try input.requiredString("name")
        let privileged = try input.optionalBool("privileged") ?? false
        let created = try await AppPasswords.create(did: user.did, name: name, privileged: privileged, services: call.services)
        return .json([
            "name": .string(name), "password": .string(created.password), "createdAt": .string(created.createdAt),
            "privileged": .bool(privileged),
        ])
    }

    static func listAppPasswords(_ call: XRPCCall) async throws -> XRPCResult {
        let user = try await call.authenticate(allowAppPassword: false)
        let passwords = try await AppPasswords.list(did: user.did, pool: call.services.pool)
        return .json([
            "passwords": .array(
                passwords.map {
                    ["name": .string($0.name), "createdAt": .string($0.createdAt), "privileged": .bool($0.privileged)]
                })
        ])
    }

    static func revokeAppPassword(_ call: XRPCCall) async throws -> XRPCResult {
        let user = try await call.authenticate(allowAppPassword: false)
        let name = try await call.jsonBody().requiredString("name")
        try await AppPasswords.revoke(did: user.did, name: name, services: call.services)
        return .empty
    }
}
