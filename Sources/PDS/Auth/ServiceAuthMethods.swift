import ATProto
import Foundation

/// `com.atproto.server.getServiceAuth`: a service-auth token signed with the
/// caller's repository key, for the caller's client to present to another
/// service (the video service, a feed generator, another PDS during
/// migration).
enum ServiceAuthMethods {
    static func register(_ methods: inout XRPCMethods) {
        methods.query("com.atproto.server.getServiceAuth", getServiceAuth)
    }

    static func getServiceAuth(_ call: XRPCCall) async throws -> XRPCResult {
        let user = try await call.authenticate(allowInactive: true, checksPermissions: true)
        let aud = try call.requiredParam("aud")
        let lxm = call.param("lxm")
        let audDID = String(aud.split(separator: "#", maxSplits: 1).first ?? "")
        guard DID.isValid(audDID), aud.split(separator: "#", omittingEmptySubsequences: false).count <= 2 else {
            throw XRPCError.invalidRequest("aud must be a valid atproto DID or did#serviceId reference")
        }
        if let lxm, !NSID.isValid(lxm) { throw XRPCError.invalidRequest("lxm must be an NSID") }
        // An OAuth token must name the method it wants a token for, and
        // hold an `rpc:` permission for it at that audience (a token for
        // any method is what `rpc:*?aud=` grants).
        if user.oauthScope != nil {
            guard let lxm else { throw XRPCError.scopeMissing("rpc:*?aud=\(aud)") }
            try user.require(rpc: lxm, aud: aud)
        }
        if let lxm, !user.scope.isPrivileged, ServiceProxy.privilegedMethods.contains(lxm.lowercased()) {
            throw XRPCError.invalidRequest("insufficient access to request a service auth token for the following method: \(lxm)")
        }
        let now = Int(Date().timeIntervalSince1970)
        var exp: Int? = nil
        if let raw = call.param("exp") {
            guard let value = Int(raw) else { throw XRPCError.invalidRequest("exp must be an integer (seconds since the epoch)") }
            if value < now { throw XRPCError(.badRequest, "BadExpiration", "expiration is in past") }
            if value - now > 3600 {
                throw XRPCError(.badRequest, "BadExpiration", "cannot request a token with an expiration more than an hour in the future")
            }
            if lxm == nil && value - now > 60 {
                throw XRPCError(.badRequest, "BadExpiration",
                                "cannot request a method-less token with an expiration more than a minute in the future")
            }
            exp = value
        }
        if let lxm, ServiceProxy.protectedMethods.contains(lxm.lowercased()) {
            throw XRPCError.invalidRequest("cannot request a service auth token for the following protected method: \(lxm)")
        }
        let token = try ServiceAuth.mint(account: user.account, aud: aud, lxm: lxm, exp: exp)
        return .json(["token": .string(token)])
    }
}

extension AuthScope {
    /// Full sessions and privileged app passwords.
    var isPrivileged: Bool { self == .access || self == .appPassPrivileged }
}
