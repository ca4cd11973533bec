import ATProto
import FeedGen
import Foundation
import PDS

/// `/api/communities/:id/members[/:did]`: join, list, approve or change a
/// role, leave or remove. Approval follows the feed generator's design: a
/// `net.atrarium.community.approval` record in the approving owner's or
/// moderator's repository; roles above member come from the owner's
/// config `moderators` list alone.
extension DashboardAPI {
    /// `POST /api/communities/:id/members`: writes the caller's membership
    /// claim (active in an open community, pending in an invite-only one).
    func join(_ call: DashboardRequest) async throws -> DashboardAnswer {
        let caller = try call.user
        let body = try call.json
        try Self.rejectUnknownFields(body, allowed: [])
        let community = try await existingCommunity(call.parameter("id"))
        if let role = try await index.role(of: caller.did, in: community.id) {
            return DashboardAnswer(["did": .string(caller.did.string), "role": .string(role), "status": "active", "created": false])
        }
        if try await index.hasActiveClaim(caller.did, configURI: community.configURI) {
            return DashboardAnswer(["did": .string(caller.did.string), "role": "member", "status": "pending", "created": false])
        }
        let open = community.accessType == "open"
        let record: DataValue = [
            "$type": .string(AtrariumRecords.membership.string), "community": .string(community.configURI), "role": "member",
            "status": .string(open ? "active" : "pending"), "joinedAt": .string(ATDatetime.now().string), "active": true,
        ]
        switch try await write(caller, [.create(collection: AtrariumRecords.membership, rkey: nil, record: record)]) {
        case .client(let answer): return answer
        case .committed(let result):
            let uri = result.written[0].uri.string, id = community.id, did = caller.did
            let indexed = try await awaitIndex { index in
                let claimed = try await index.claimExists(uri: uri)
                let member = try await index.role(of: did, in: id) != nil
                return claimed && (member || !open)
            }
            let role = try await index.role(of: caller.did, in: community.id)
            return DashboardAnswer(
                status: .created,
                [
                    "did": .string(caller.did.string), "role": .string(role ?? "member"), "status": .string(role != nil ? "active" : "pending"),
                    "uri": .string(uri), "cid": .string(result.written[0].cid?.string ?? ""), "created": true, "indexed": .bool(indexed),
                ])
        }
    }

    /// `GET /api/communities/:id/members`: active members; the owner and
    /// moderators also see pending claims and blocked accounts.
    func listMembers(_ call: DashboardRequest) async throws -> DashboardAnswer {
        let caller = try call.user
        let community = try await existingCommunity(call.parameter("id"))
        let privileged = caller.did == community.owner || community.moderators.contains(caller.did)
        let members = MemberView.list(try await index.members(of: community.id, configURI: community.configURI, includePending: privileged))
        return DashboardAnswer(["community": .string(community.id), "members": .array(members.map(\.json))])
    }

    /// `PUT /api/communities/:id/members/:did` with `{"status": "active"}`
    /// (approve: owner or moderator) and/or `{"role": "moderator"|"member"}`
    /// (owner only: edits the config's `moderators`).
    func updateMember(_ call: DashboardRequest) async throws -> DashboardAnswer {
        let caller = try call.user
        let body = try call.json
        try Self.rejectUnknownFields(body, allowed: ["status", "role"])
        let community = try await existingCommunity(call.parameter("id"))
        let rawTarget = call.parameter("did")
        guard let target = try? DID(rawTarget) else { throw DashboardError.badRequest("\(rawTarget) is not a DID") }
        let status = try body.string("status")
        let role = try body.string("role")
        guard status != nil || role != nil else { throw DashboardError.badRequest("give status (\"active\") and/or role") }
        if let status, status != "active" { throw DashboardError.badRequest("status may only be set to \"active\" (approve)") }
        if let role, !["moderator", "member"].contains(role) {
            throw DashboardError.badRequest("role must be \"moderator\" or \"member\" (ownership cannot be transferred)")
        }
        try await requireModerator(caller, of: community)
        if role != nil { try requireOwner(caller, of: community) }
        guard target != community.owner else { throw DashboardError.badRequest("the owner's membership cannot be changed") }
        var current = try await index.role(of: target, in: community.id)
        let claimed = try await index.hasActiveClaim(target, configURI: community.configURI)
        guard current != nil || claimed else {
            throw DashboardError.notFound("MembershipNotFound", "\(target) has not asked to join community \(community.id)")
        }
        var last: DashboardAnswer?
        if status != nil && current == nil {
            let record: DataValue = [
                "$type": .string(AtrariumRecords.approval.string), "community": .string(community.configURI), "member": .string(target.string),
                "createdAt": .string(ATDatetime.now().string),
            ]
            switch try await write(caller, [.create(collection: AtrariumRecords.approval, rkey: nil, record: record)]) {
            case .client(let answer): last = answer
            case .committed:
                let id = community.id
                _ = try await awaitIndex { index in try await index.role(of: target, in: id) != nil }
            }
            current = try await index.role(of: target, in: community.id)
        }
        if let role, role != current {
            guard current != nil || role == "member" else {
                throw DashboardError.conflict("NotAMember", "approve \(target) before making them a moderator")
            }
            var map = try await currentConfig(community)
            var moderators = (map["moderators"]?.arrayValue ?? []).compactMap(\.stringValue).filter { $0 != target.string }
            if role == "moderator" { moderators.append(target.string) }
            map["moderators"] = .array(moderators.map(DataValue.string))
            let answer = try await saveConfig(caller, community: community, record: .map(map)) { _ in [:] }
            if answer.status == .accepted { last = answer }
            let id = community.id
            _ = try await awaitIndex { index in try await index.role(of: target, in: id) == role }
            current = try await index.role(of: target, in: community.id)
        }
        if let last { return last }
        return DashboardAnswer([
            "did": .string(target.string), "role": .string(current ?? "member"), "status": .string(current != nil ? "active" : "pending"),
        ])
    }

    /// `DELETE /api/communities/:id/members/:did`: the caller leaves
    /// (deletes its own membership claims), or the owner or a moderator
    /// removes someone: their own approvals of that account are deleted,
    /// the account is blocked (`block_user`), and the owner also drops it
    /// from the config's moderators.
    func removeMember(_ call: DashboardRequest) async throws -> DashboardAnswer {
        let caller = try call.user
        let community = try await existingCommunity(call.parameter("id"))
        let rawTarget = call.parameter("did")
        guard let target = try? DID(rawTarget) else { throw DashboardError.badRequest("\(rawTarget) is not a DID") }
        let configURI = community.configURI
        if target == caller.did {
            guard target != community.owner else { throw DashboardError.conflict("OwnerCannotLeave", "the owner cannot leave its community") }
            let claims = try await index.claimURIs(of: target, configURI: configURI)
            guard !claims.isEmpty else { throw DashboardError.notFound("MembershipNotFound", "you are not a member of \(community.id)") }
            let deletes = claims.compactMap(Self.parts(ofURI:)).map { LocalRepoWriter.Operation.delete(collection: $0.collection, rkey: $0.rkey) }
            switch try await write(caller, deletes) {
            case .client(let answer): return answer
            case .committed:
                let id = community.id
                _ = try await awaitIndex { index in
                    try await index.role(of: target, in: id) == nil || community.moderators.contains(target)
                }
                return DashboardAnswer(["did": .string(target.string), "left": true, "deleted": .array(claims.map(DataValue.string))])
            }
        }
        let role = try await requireModerator(caller, of: community)
        guard target != community.owner else { throw DashboardError.forbidden("the owner cannot be removed") }
        if community.moderators.contains(target) && role != "owner" {
            throw DashboardError.forbidden("only the owner may remove a moderator")
        }
        if community.moderators.contains(target) {
            var map = try await currentConfig(community)
            map["moderators"] = .array(community.moderators.filter { $0 != target }.map { .string($0.string) })
            let answer = try await saveConfig(caller, community: community, record: .map(map)) { _ in [:] }
            if answer.status == .accepted { return answer }
        }
        let approvals = try await index.approvalURIs(of: target, by: caller.did, configURI: configURI)
        var operations = approvals.compactMap(Self.parts(ofURI:)).map { LocalRepoWriter.Operation.delete(collection: $0.collection, rkey: $0.rkey) }
        operations.append(.create(collection: AtrariumRecords.moderationAction, rkey: nil, record: Self.moderationRecord(
            action: "block_user", community: configURI, post: nil, user: target, reason: "other")))
        switch try await write(caller, operations) {
        case .client(let answer): return answer
        case .committed(let result):
            let id = community.id
            let indexed = try await awaitIndex { index in try await index.isBlocked(target, in: id) }
            return DashboardAnswer([
                "did": .string(target.string), "removed": true, "blocked": true, "revokedApprovals": .array(approvals.map(DataValue.string)),
                "action": .string(result.written.last?.uri.string ?? ""), "indexed": .bool(indexed),
            ])
        }
    }
}
