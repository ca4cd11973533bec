import ATProto
import FeedGen
import Foundation
import GRDB

/// A community as the feed generator's index knows it.
struct CommunityView: Sendable {
    let id: String
    let configURI: String
    let configCID: String
    let owner: String
    let name: String
    let description: String?
    let stage: String
    let accessType: String
    let parentURI: String?
    let feedMix: FeedMix
    let moderators: [String]
    let blocklist: [String]
    let createdAt: String
    let memberCount: Int

    /// A community from its config record, before the index has it.
    init(id: String, uri: String, cid: String, owner: String, config: CommunityConfig, memberCount: Int) {
        self.id = id
        configURI = uri
        configCID = cid
        self.owner = owner
        name = config.name
        description = config.description
        stage = config.stage
        accessType = config.accessType
        parentURI = config.parentURI
        feedMix = config.feedMix
        moderators = config.moderators
        blocklist = config.blocklist
        createdAt = config.createdAt
        self.memberCount = memberCount
    }

    init(row: Row) {
        id = row["id"]
        configURI = row["config_uri"]
        configCID = row["config_cid"]
        owner = row["owner_did"]
        name = row["name"]
        description = row["description"]
        stage = row["stage"]
        accessType = row["access_type"]
        parentURI = row["parent_uri"]
        feedMix = FeedMix(own: row["mix_own"], parent: row["mix_parent"], global: row["mix_global"])
        moderators = (try? JSONDecoder().decode([String].self, from: Data((row["moderators"] as String).utf8))) ?? []
        blocklist = (try? JSONDecoder().decode([String].self, from: Data((row["blocklist"] as String).utf8))) ?? []
        createdAt = row["created_at"]
        memberCount = row["member_count"]
    }

    /// The config record as the index knows it (for an owner whose
    /// repository is not on this PDS).
    var record: DataValue {
        var map: DataMap = [
            "$type": .string(AtrariumRecords.config), "name": .string(name), "hashtag": .string(CommunityHashtag.hashtag(id: id)),
            "stage": .string(stage), "accessType": .string(accessType),
            "feedMix": ["own": .int(Int64(feedMix.own)), "parent": .int(Int64(feedMix.parent)), "global": .int(Int64(feedMix.global))],
            "moderators": .array(moderators.map(DataValue.string)), "createdAt": .string(createdAt),
        ]
        if !blocklist.isEmpty { map["blocklist"] = .array(blocklist.map(DataValue.string)) }
        if let description { map["description"] = .string(description) }
        if let parentURI { map["parentCommunity"] = .string(parentURI) }
        return .map(map)
    }

    /// The JSON of the API, with the caller's `role` when known.
    func json(role: String?) -> DataValue {
        var map: DataMap = [
            "id": .string(id), "uri": .string(configURI), "cid": .string(configCID), "owner": .string(owner),
            "name": .string(name), "hashtag": .string(CommunityHashtag.hashtag(id: id)), "stage": .string(stage),
            "accessType": .string(accessType),
            "feedMix": ["own": .int(Int64(feedMix.own)), "parent": .int(Int64(feedMix.parent)), "global": .int(Int64(feedMix.global))],
            "moderators": .array(moderators.map(DataValue.string)), "memberCount": .int(Int64(memberCount)),
            "feedUri": .string(FeedGenerator.feedURI(communityID: id, owner: owner)),
        ]
        if let description { map["description"] = .string(description) }
        if let parentURI { map["parentCommunity"] = .string(parentURI) }
        if let role { map["role"] = .string(role) }
        return .map(map)
    }
}

/// One membership as the dashboard shows it: active (with the role the
/// rules give), blocked (a member whose posts the feed excludes) or
/// pending (a claim not yet approved).
struct MemberView: Sendable {
    let did: String
    let role: String
    let status: String

    var json: DataValue { ["did": .string(did), "role": .string(role), "status": .string(status)] }
}

/// Reads of the feed generator's community index for the dashboard API.
/// Every read maps rows to Sendable values inside the closure, so GRDB's
/// async overloads are used.
struct DashboardIndex: Sendable {
    let pool: DatabasePool

    private static let communitySQL = """
        SELECT c.*, (SELECT COUNT(*) FROM community_member m WHERE m.community = c.id) AS member_count FROM community c
        """

    func community(id: String) async throws -> CommunityView? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: Self.communitySQL + " WHERE c.id = ?", arguments: [id]).map(CommunityView.init(row:))
        }
    }

    func communityExists(id: String) async throws -> Bool {
        try await pool.read { db in try Bool.fetchOne(db, sql: "SELECT 1 FROM community WHERE id = ?", arguments: [id]) ?? false }
    }

    /// Every community, or those where `member` is active or pending, with `member`'s role.
    func communities(member: String?, limit: Int) async throws -> [(CommunityView, String?)] {
        try await pool.read { db -> [(CommunityView, String?)] in
            if let member {
                return try Row.fetchAll(
                    db,
                    sql: Self.communitySQL + """
                         WHERE c.id IN (SELECT community FROM community_member WHERE did = ?)
                            OR c.config_uri IN (SELECT community_uri FROM membership_claim WHERE member_did = ? AND active = 1)
                         ORDER BY c.id LIMIT ?
                        """, arguments: [member, member, limit]
                ).map { row in
                    let view = CommunityView(row: row)
                    let role = try String.fetchOne(
                        db, sql: "SELECT role FROM community_member WHERE community = ? AND did = ?", arguments: [view.id, member])
                    return (view, role ?? "pending")
                }
            }
            return try Row.fetchAll(db, sql: Self.communitySQL + " ORDER BY c.id LIMIT ?", arguments: [limit]).map { (CommunityView(row: $0), nil) }
        }
    }

    /// The role the rules give `did` in community `id` (owner, moderator, member), or nil.
    func role(of did: String, in id: String) async throws -> String? {
        try await pool.read { db in
            try String.fetchOne(db, sql: "SELECT role FROM community_member WHERE community = ? AND did = ?", arguments: [id, did])
        }
    }

    /// Whether `did` has an active membership claim in the community of `configURI`.
    func hasClaim(_ did: String, configURI: String) async throws -> Bool {
        try await pool.read { db in
            try Bool.fetchOne(
                db, sql: "SELECT 1 FROM membership_claim WHERE community_uri = ? AND member_did = ? AND active = 1 LIMIT 1",
                arguments: [configURI, did]) ?? false
        }
    }

    /// Active members, then pending claims when `includePending`.
    func members(of community: CommunityView, includePending: Bool) async throws -> [MemberView] {
        try await pool.read { db -> [MemberView] in
            var out = try Row.fetchAll(
                db,
                sql: """
                    SELECT m.did, m.role, b.did IS NOT NULL AS blocked FROM community_member m
                    LEFT JOIN community_blocked_user b ON b.community = m.community AND b.did = m.did
                    WHERE m.community = ? ORDER BY m.role = 'member', m.did
                    """, arguments: [community.id]
            ).map { MemberView(did: $0["did"], role: $0["role"], status: ($0["blocked"] as Bool) ? "blocked" : "active") }
            if includePending {
                out += try String.fetchAll(
                    db,
                    sql: """
                        SELECT DISTINCT member_did FROM membership_claim WHERE community_uri = ? AND active = 1
                        AND member_did NOT IN (SELECT did FROM community_member WHERE community = ?) ORDER BY member_did
                        """, arguments: [community.configURI, community.id]
                ).map { MemberView(did: $0, role: "member", status: "pending") }
            }
            return out
        }
    }

    /// The moderation actions recorded for a community, newest first.
    func moderationActions(configURI: String, authorities: Set<String>, limit: Int) async throws -> [DataValue] {
        try await pool.read { db -> [DataValue] in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT uri, author_did, action, target_uri, target_did, created_at FROM moderation_action
                    WHERE community_uri = ? ORDER BY created_at DESC, uri DESC LIMIT ?
                    """, arguments: [configURI, limit]
            ).map { row in
                let author: String = row["author_did"]
                var map: DataMap = [
                    "uri": .string(row["uri"]), "author": .string(author), "action": .string(row["action"]),
                    "createdAt": .string(row["created_at"]), "effective": .bool(authorities.contains(author)),
                ]
                if let uri: String = row["target_uri"] { map["post"] = .string(uri) }
                if let did: String = row["target_did"] { map["user"] = .string(did) }
                return .map(map)
            }
        }
    }

    /// The CID under which the index holds post `uri`, if any.
    func postCID(_ uri: String) async throws -> String? {
        try await pool.read { db in try String.fetchOne(db, sql: "SELECT cid FROM community_post WHERE uri = ? LIMIT 1", arguments: [uri]) }
    }

    /// Polls the index until `condition` holds or `milliseconds` pass.
    /// - Returns: whether it held.
    func wait(milliseconds: Int, until condition: @escaping @Sendable (Database) throws -> Bool) async throws -> Bool {
        let deadline = ContinuousClock.now + .milliseconds(milliseconds)
        while true {
            if try await pool.read(condition) { return true }
            if ContinuousClock.now >= deadline { return false }
            try await Task.sleep(for: .milliseconds(20))
        }
    }
}
