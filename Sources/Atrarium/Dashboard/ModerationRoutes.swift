import ATProto
import FeedGen
import Foundation
import PDS

/// `POST/GET /api/moderation/actions`: hide or unhide a post, block or
/// unblock an account, as `net.atrarium.moderation.action` records in the
/// acting owner's or moderator's repository.
extension DashboardAPI {
    static let moderationFields: Set<String> = ["community", "action", "post", "cid", "user", "reason"]

    /// The reasons the Atrarium project publishes (`lexicons/MODERATION_REASONS.md`
    /// of its repository). The API writes only these, so that every record it
    /// writes is valid under the published schema, whose `reason` is an enum;
    /// the index still reads earlier records' free text.
    static let moderationReasons = [
        "spam", "low_quality", "duplicate", "off_topic", "wrong_community", "guidelines_violation", "terms_violation", "copyright",
        "harassment", "hate_speech", "violence", "nsfw", "illegal_content", "bot_activity", "impersonation", "ban_evasion", "other",
    ]

    /// The record of one moderation action.
    static func moderationRecord(action: String, community: String, post: (uri: String, cid: String)?, user: DID?, reason: String?) -> DataValue {
        var map: DataMap = [
            "$type": .string(AtrariumRecords.moderationAction.string), "action": .string(action), "community": .string(community),
            "createdAt": .string(ATDatetime.now().string),
        ]
        if let post {
            // The published form; the index still reads earlier strongRef targets.
            map["target"] = ["$type": "net.atrarium.moderation.action#postTarget", "uri": .string(post.uri), "cid": .string(post.cid)]
        } else if let user {
            map["target"] = ["$type": "net.atrarium.moderation.action#userTarget", "did": .string(user.string)]
        }
        if let reason { map["reason"] = .string(reason) }
        return .map(map)
    }

    /// `POST /api/moderation/actions` with `{community, action, post?, cid?, user?, reason?}`.
    func createModerationAction(_ call: DashboardRequest) async throws -> DashboardAnswer {
        let caller = try call.user
        let body = try call.json
        try Self.rejectUnknownFields(body, allowed: Self.moderationFields)
        let community = try await existingCommunity(try body.requiredString("community"))
        let action = try body.requiredString("action")
        try await requireModerator(caller, of: community)
        var post: (uri: String, cid: String)?
        var user: DID?
        switch action {
        case "hide_post", "unhide_post":
            let uri = try body.requiredString("post")
            guard let parts = Self.parts(ofURI: uri), parts.collection == AtrariumRecords.post else {
                throw DashboardError.badRequest("post must be the at:// URI of an app.bsky.feed.post")
            }
            var cid = try body.string("cid")
            if cid == nil { cid = try await index.postCID(uri) }
            if cid == nil { cid = try await writer.record(did: parts.did, collection: parts.collection, rkey: parts.rkey)?.cid.string }
            guard let cid else { throw DashboardError.badRequest("cid is required: the post is neither indexed nor hosted here") }
            post = (uri, cid)
        case "block_user", "unblock_user":
            let rawUser = try body.requiredString("user")
            guard let did = try? DID(rawUser) else { throw DashboardError.badRequest("user must be a DID") }
            guard did != community.owner else { throw DashboardError.forbidden("the owner cannot be blocked") }
            user = did
        default:
            throw DashboardError.badRequest("action must be hide_post, unhide_post, block_user or unblock_user")
        }
        let reason = try body.string("reason")
        if let reason, !Self.moderationReasons.contains(reason) {
            throw DashboardError.badRequest("reason must be one of \(Self.moderationReasons.joined(separator: ", "))")
        }
        let record = Self.moderationRecord(action: action, community: community.configURI, post: post, user: user, reason: reason)
        switch try await write(caller, [.create(collection: AtrariumRecords.moderationAction, rkey: nil, record: record)]) {
        case .client(let answer): return answer
        case .committed(let result):
            let id = community.id, blocklist = community.blocklist
            let indexed = try await awaitIndex { [post, user] index in
                if let post {
                    let hidden = try await index.isHidden(post: post.uri, in: id)
                    return hidden == (action == "hide_post")
                }
                guard let user else { return false }
                let blocked = try await index.isBlocked(user, in: id)
                return blocked == (action == "block_user") || blocklist.contains(user)
            }
            return DashboardAnswer(
                status: .created,
                [
                    "uri": .string(result.written[0].uri.string), "cid": .string(result.written[0].cid?.string ?? ""), "action": .string(action),
                    "community": .string(community.id), "indexed": .bool(indexed),
                ])
        }
    }

    /// `GET /api/moderation/actions?community=<id>` (owner and moderators):
    /// the recorded actions, newest first, each marked `effective` when its
    /// author has authority.
    func listModerationActions(_ call: DashboardRequest) async throws -> DashboardAnswer {
        let caller = try call.user
        guard let id = call.queryValue("community") else { throw DashboardError.badRequest("community is required") }
        let community = try await existingCommunity(id)
        try await requireModerator(caller, of: community)
        let limit = try call.intQuery("limit", default: 100, range: 1...500)
        let authorities = Set(community.moderators + [community.owner])
        let actions = try await index.moderationActions(configURI: community.configURI, limit: limit)
        return DashboardAnswer([
            "community": .string(community.id), "actions": .array(actions.map { Self.json($0, authorities: authorities) }),
        ])
    }

    /// One recorded action as the API lists it: `effective` when its author
    /// is in `authorities`.
    static func json(_ action: IndexedModerationAction, authorities: Set<DID>) -> DataValue {
        var map: DataMap = [
            "uri": .string(action.uri), "author": .string(action.author.string), "action": .string(action.action),
            "createdAt": .string(action.createdAt), "effective": .bool(authorities.contains(action.author)),
        ]
        if let uri = action.targetURI { map["post"] = .string(uri) }
        if let did = action.targetDID { map["user"] = .string(did.string) }
        if let reason = action.reason { map["reason"] = .string(reason) }
        return .map(map)
    }
}
