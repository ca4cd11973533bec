import ATProto
import Foundation
import Identity

/// `com.atproto.identity.resolveDid`, `resolveIdentity` and
/// `refreshIdentity`: DID documents and verified handles, through the
/// server's resolvers. A local account's own document is answered from here
/// when its DID cannot be resolved (no PLC directory in development).
enum IdentityResolutionMethods {
    static func register(_ methods: inout XRPCMethods) {
        methods.query("com.atproto.identity.resolveDid", resolveDid)
        methods.query("com.atproto.identity.resolveIdentity", resolveIdentity)
        methods.procedure("com.atproto.identity.refreshIdentity", refreshIdentity)
    }

    static func resolveDid(_ call: XRPCCall) async throws -> XRPCResult {
        guard let did = try? DID(try call.requiredParam("did")) else {
            throw XRPCError.invalidRequest("Error: did must be a valid did")
        }
        return .json(["didDoc": try await document(did, forceRefresh: false, services: call.services)])
    }

    static func resolveIdentity(_ call: XRPCCall) async throws -> XRPCResult {
        .json(try await identity(try call.requiredParam("identifier"), forceRefresh: false, services: call.services))
    }

    static func refreshIdentity(_ call: XRPCCall) async throws -> XRPCResult {
        .json(try await identity(try await call.jsonBody().requiredString("identifier"), forceRefresh: true, services: call.services))
    }

    /// The DID document of `did`.
    static func document(_ did: DID, forceRefresh: Bool, services: PDSServices) async throws -> DataValue {
        do {
            return try await services.identity.dids.resolve(did, forceRefresh: forceRefresh).document
        } catch {
            if let account = try await services.accounts.account(did: did), account.status != .deleted {
                return DIDDocument.of(account, services: services)
            }
            if case .didNotFound = error { throw XRPCError(.badRequest, "DidNotFound", "DID not found: \(did)") }
            throw XRPCError(.badRequest, "DidNotFound", "Could not resolve \(did): \(error)")
        }
    }

    /// `identityInfo`: the DID, its document, and the handle the document
    /// claims when that handle resolves back to the DID (else `handle.invalid`).
    static func identity(_ identifier: String, forceRefresh: Bool, services: PDSServices) async throws -> DataValue {
        guard let parsed = try? ATIdentifier(identifier) else {
            throw XRPCError.invalidRequest("identifier must be a handle or a DID")
        }
        let did: DID
        if case .did(let given) = parsed {
            did = given
        } else {
            guard let resolved = try await resolveHandle(identifier.lowercased(), services: services) else {
                throw XRPCError(.badRequest, "HandleNotFound", "Unable to resolve handle")
            }
            did = resolved
        }
        let document = try await document(did, forceRefresh: forceRefresh, services: services)
        let claimed = (try? ResolvedDIDDocument(did: did, document: document))?.handle
        var verified = "handle.invalid"
        if let claimed, try await resolveHandle(claimed, services: services) == did { verified = claimed }
        if !identifier.hasPrefix("did:"), verified != identifier.lowercased() {
            throw XRPCError(.badRequest, "HandleNotFound", "The DID document of \(did) does not claim \(identifier)")
        }
        return ["did": .string(did.string), "handle": .string(verified), "didDoc": document]
    }

    /// A handle's DID: under this server's domains, the local account's;
    /// any other handle through DNS and HTTPS (a local account's external
    /// handle too, since its domain may have moved on).
    static func resolveHandle(_ handle: String, services: PDSServices) async throws -> DID? {
        if IdentityMethods.isServed(handle, config: services.config) {
            guard let account = try await services.accounts.account(identifier: handle), account.status != .deleted,
                account.handle.string == handle
            else { return nil }
            return account.did
        }
        return try? await services.identity.handles.resolve(handle)
    }
}

extension PDSServices {
    /// A handle's DID as `com.atproto.identity.resolveHandle` finds it: this
    /// server's own accounts first, then DNS and HTTPS; nil when none.
    public func resolveHandle(_ handle: String) async -> DID? {
        try? await IdentityResolutionMethods.resolveHandle(handle.lowercased(), services: self)
    }
}
