import ATProto
import Foundation
import Repo
import ServiceStorage

/// `com.atproto.admin.*` methods for moderating accounts, behind HTTP basic
/// auth as `admin` with the configured password. Subjects are accounts
/// (`com.atproto.admin.defs#repoRef`); record and blob subjects are refused,
/// as this server keeps no per-record or per-blob takedowns.
enum AdminMethods {
    static func register(_ methods: inout XRPCMethods) {
        methods.procedure("com.atproto.admin.updateSubjectStatus", updateSubjectStatus)
        methods.query("com.atproto.admin.getSubjectStatus", getSubjectStatus)
        methods.query("com.atproto.admin.getAccountInfo", getAccountInfo)
        AdminAccountMethods.register(&methods)
        AdminInviteMethods.register(&methods)
    }

    static let repoRefType = "com.atproto.admin.defs#repoRef"

    static func notFound(_ what: String = "Subject not found") -> XRPCError { XRPCError(.badRequest, "NotFound", what) }

    /// A `statusAttr` input: `{applied, ref?}`.
    static func statusAttr(_ value: DataValue?, name: String) throws(XRPCError) -> (applied: Bool, ref: String?)? {
        switch value {
        case nil, .null?: return nil
        case .map(let map)?:
            guard case .bool(let applied)? = map["applied"] else {
                throw .invalidRequest("Input/\(name) must have the property \"applied\" as a boolean")
            }
            let ref = try map.optionalString("ref")
            return (applied, ref)
        default: throw .invalidRequest("Input/\(name) must be an object")
        }
    }

    static func statusJSON(_ status: AccountAdmin.AdminStatus) -> (takedown: DataValue, deactivated: DataValue) {
        var takedown: DataMap = ["applied": .bool(status.takedownRef != nil)]
        if let ref = status.takedownRef { takedown["ref"] = .string(ref) }
        return (.map(takedown), ["applied": .bool(status.deactivatedAt != nil)])
    }

    static func updateSubjectStatus(_ call: XRPCCall) async throws -> XRPCResult {
        try call.requireAdmin()
        let services = call.services
        let input = try await call.jsonBody()
        guard case .map(let subject)? = input["subject"], case .string(let type)? = subject["$type"] else {
            throw XRPCError.invalidRequest("Input must have the property \"subject\" as an object with $type")
        }
        guard type == repoRefType else {
            throw XRPCError.invalidRequest("Unsupported subject type \(type): only \(repoRefType) subjects can be moderated here")
        }
        let rawDID = try subject.requiredString("did")
        guard let did = try? DID(rawDID) else { throw XRPCError.invalidRequest("Input/subject/did must be a DID") }
        let takedown = try statusAttr(input["takedown"], name: "takedown")
        let deactivated = try statusAttr(input["deactivated"], name: "deactivated")
        guard try await AccountAdmin.adminStatus(did: did, services: services) != nil else { throw notFound() }
        if let takedown {
            try await AccountAdmin.setTakedown(did: did, applied: takedown.applied, ref: takedown.ref, services: services)
        }
        if let deactivated {
            if deactivated.applied {
                try await AccountAdmin.deactivate(did: did, deleteAfter: nil, services: services)
            } else {
                try await AccountAdmin.activate(did: did, services: services)
            }
        }
        var body: DataMap = ["subject": .map(subject)]
        if let status = try await AccountAdmin.adminStatus(did: did, services: services), takedown != nil {
            body["takedown"] = statusJSON(status).takedown
        }
        return .json(.map(body))
    }

    static func getSubjectStatus(_ call: XRPCCall) async throws -> XRPCResult {
        try call.requireAdmin()
        guard let rawDID = call.param("did") else {
            if call.param("uri") != nil || call.param("blob") != nil {
                throw XRPCError.invalidRequest("Only account subjects (did) are supported; this server keeps no record or blob takedowns")
            }
            throw XRPCError.invalidRequest("No provided subject")
        }
        guard let did = try? DID(rawDID) else { throw XRPCError.invalidRequest("did must be a DID") }
        guard let status = try await AccountAdmin.adminStatus(did: did, services: call.services) else { throw notFound() }
        let attrs = statusJSON(status)
        return .json([
            "subject": ["$type": .string(repoRefType), "did": .string(did.string)], "takedown": attrs.takedown,
            "deactivated": attrs.deactivated,
        ])
    }

    /// `com.atproto.admin.defs#accountView` of one account.
    static func getAccountInfo(_ call: XRPCCall) async throws -> XRPCResult {
        try call.requireAdmin()
        let rawDID = try call.requiredParam("did")
        guard let did = try? DID(rawDID), let account = try await AccountAdmin.find(rawDID, services: call.services), account.did == did else {
            throw notFound("Account not found")
        }
        return .json(.map(try await accountView(account, services: call.services)))
    }

    /// The `accountView` fields the reference PDS fills: handle, email and
    /// its confirmation, creation and deactivation times, the invite code
    /// used and those made for the account, and its profile record.
    static func accountView(_ account: Account, services: PDSServices) async throws -> DataMap {
        let did = account.did
        var view: DataMap = [
            "did": .string(did.string), "handle": .string(account.handle.string), "indexedAt": .string(account.createdAt),
            "invitesDisabled": .bool(account.invitesDisabled),
        ]
        if let email = account.email { view["email"] = .string(email) }
        let extra = try await services.storage.read { tx -> DataMap in
            var extra: DataMap = [:]
            let dates = try AccountStore.emailConfirmationAndDeactivation(did: did, in: tx)
            if let confirmed = dates.emailConfirmedAt { extra["emailConfirmedAt"] = .string(confirmed) }
            if let deactivated = dates.deactivatedAt { extra["deactivatedAt"] = .string(deactivated) }
            if let code = try InviteCodes.usedBy(did, in: tx), let invite = try InviteCodes.view(code: code, in: tx) {
                extra["invitedBy"] = invite
            }
            extra["invites"] = .array(try InviteCodes.views(forAccount: did, includeUsed: true, in: tx))
            if let profile = try RepoStorage.repository(did: did, in: tx)?.record(
                collection: NSID(unchecked: "app.bsky.actor.profile"), rkey: RecordKey(unchecked: "self"))
            {
                extra["relatedRecords"] = [profile.value]
            }
            return extra
        }
        for (key, value) in extra { view[key] = value }
        return view
    }
}
