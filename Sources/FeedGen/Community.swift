import ATProto
import Foundation
import GRDB
import ServiceStorage

/// One community of the index, as an actor: it serializes the decisions of
/// its community (who is an active member and with which role, which posts
/// are hidden and who is blocked, which posts are indexed) over the SQLite
/// tables `community`, `community_member`, `community_hidden_post`,
/// `community_blocked_user` and `community_post`.
///
/// Authority: the config's author is the owner; roles above member come
/// only from the owner's config `moderators`; a membership claim counts
/// when the community is open or when the owner or a listed moderator has
/// approved it; moderation actions count only from the owner or listed
/// moderators, the latest per target winning; the config's blocklist
/// blocks too.
public actor Community {
    public let id: String
    let pool: DatabasePool
    private var rules: Rules

    /// The authority facts of the community's config.
    struct Rules: Sendable {
        var configURI: String
        var owner: DID
        var accessType: String
        var moderators: Set<DID>
        var blocklist: Set<DID>

        var authorities: Set<DID> { moderators.union([owner]) }
    }

    init(id: String, pool: DatabasePool, rules: Rules) {
        self.id = id
        self.pool = pool
        self.rules = rules
    }

    /// Loads the community `id`, or nil when there is none.
    static func load(id: String, pool: DatabasePool) async throws -> Community? {
        guard let rules = try await pool.read({ db in try Self.rules(id: id, db: db) }) else { return nil }
        return Community(id: id, pool: pool, rules: rules)
    }

    static func rules(id: String, db: Database) throws -> Rules? {
        guard let row = try Row.fetchOne(
            db.cachedStatement(sql: "SELECT config_uri, owner_did, access_type, moderators, blocklist FROM community WHERE id = ?"),
            arguments: [id])
        else { return nil }
        return Rules(
            configURI: row["config_uri"], owner: row["owner_did"], accessType: row["access_type"],
            moderators: Set(Self.didList(row["moderators"])), blocklist: Set(Self.didList(row["blocklist"])))
    }

    /// The DIDs of a config's `moderators` or `blocklist` column (JSON
    /// text, as the config record listed them); entries that are not DIDs
    /// are left out.
    static func didList(_ json: String) -> [DID] {
        let strings = (try? JSONDecoder().decode([String].self, from: Data(json.utf8))) ?? []
        return strings.compactMap { try? DID($0) }
    }

    /// The config changed: reload it and decide every member and every
    /// moderation target again.
    func reload() async throws {
        let id = id
        guard let rules = try await pool.read({ db in try Self.rules(id: id, db: db) }) else { return }
        self.rules = rules
        try await recomputeAllMembers()
        try await recomputeModeration()
    }

    /// Decides again whether `did` is an active member, and its role.
    func recomputeMember(_ did: DID) async throws {
        let id = id, rules = rules
        try await pool.write { db in try Self.decideMember(did, community: id, rules: rules, db: db) }
    }

    /// Decides again every account that claims membership, plus the owner
    /// and moderators.
    func recomputeAllMembers() async throws {
        let id = id, rules = rules
        try await pool.write { db in
            let claimants = try DID.fetchAll(
                db, sql: "SELECT DISTINCT member_did FROM membership_claim WHERE community_uri = ?", arguments: [rules.configURI])
            let current = try DID.fetchAll(db, sql: "SELECT did FROM community_member WHERE community = ?", arguments: [id])
            for did in Set(claimants).union(current).union(rules.authorities) {
                try Self.decideMember(did, community: id, rules: rules, db: db)
            }
        }
    }

    private static func decideMember(_ did: DID, community id: String, rules: Rules, db: Database) throws {
        let role: String?
        if did == rules.owner {
            role = "owner"
        } else if rules.moderators.contains(did) {
            role = "moderator"
        } else {
            let claimed = try Bool.fetchOne(
                db, sql: "SELECT 1 FROM membership_claim WHERE community_uri = ? AND member_did = ? AND active = 1 LIMIT 1",
                arguments: [rules.configURI, did]) ?? false
            var approved = rules.accessType == "open"
            if claimed && !approved {
                let approvers = try DID.fetchAll(
                    db, sql: "SELECT approver_did FROM membership_approval WHERE community_uri = ? AND member_did = ?",
                    arguments: [rules.configURI, did])
                approved = approvers.contains { rules.authorities.contains($0) }
            }
            role = claimed && approved ? "member" : nil
        }
        if let role {
            try db.execute(
                sql: "INSERT INTO community_member (community, did, role) VALUES (?, ?, ?) ON CONFLICT DO UPDATE SET role = excluded.role",
                arguments: [id, did, role])
        } else {
            try db.execute(sql: "DELETE FROM community_member WHERE community = ? AND did = ?", arguments: [id, did])
        }
    }

    /// Decides again which posts are hidden and who is blocked: for each
    /// target the latest action by the owner or a listed moderator wins;
    /// the config's blocklist blocks as well.
    func recomputeModeration() async throws {
        let id = id, rules = rules
        try await pool.write { db in
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT author_did, action, target_uri, target_did FROM moderation_action
                    WHERE community_uri = ? ORDER BY created_at, uri
                    """, arguments: [rules.configURI])
            var hidden: [String: Bool] = [:]
            var blocked: [DID: Bool] = [:]
            for did in rules.blocklist { blocked[did] = true }
            for row in rows where rules.authorities.contains(row["author_did"] as DID) {
                let action: String = row["action"]
                switch action {
                case "hide_post", "unhide_post":
                    if let uri: String = row["target_uri"] { hidden[uri] = action == "hide_post" }
                case "block_user", "unblock_user":
                    if let did: DID = row["target_did"] { blocked[did] = action == "block_user" || rules.blocklist.contains(did) }
                default: break
                }
            }
            try db.execute(sql: "DELETE FROM community_hidden_post WHERE community = ?", arguments: [id])
            try db.execute(sql: "DELETE FROM community_blocked_user WHERE community = ?", arguments: [id])
            for (uri, isHidden) in hidden where isHidden {
                try db.execute(sql: "INSERT INTO community_hidden_post (community, uri) VALUES (?, ?)", arguments: [id, uri])
            }
            for (did, isBlocked) in blocked where isBlocked {
                try db.execute(sql: "INSERT INTO community_blocked_user (community, did) VALUES (?, ?)", arguments: [id, did])
            }
        }
    }

    /// Indexes a post when its author is an active member and not blocked.
    /// - Returns: whether the post is in the index now.
    @discardableResult
    func indexPost(uri: String, cid: String, author: DID, createdAt: Int64, indexedAt: Int64) async throws -> Bool {
        let id = id
        return try await pool.write { db in
            // Statements prepared once per connection: this runs for every post.
            let member = try Bool.fetchOne(
                db.cachedStatement(sql: "SELECT 1 FROM community_member WHERE community = ? AND did = ?"), arguments: [id, author]) ?? false
            let blocked = try Bool.fetchOne(
                db.cachedStatement(sql: "SELECT 1 FROM community_blocked_user WHERE community = ? AND did = ?"), arguments: [id, author])
                ?? false
            guard member && !blocked else {
                try db.cachedStatement(sql: "DELETE FROM community_post WHERE community = ? AND uri = ?").execute(arguments: [id, uri])
                return false
            }
            try db.cachedStatement(
                sql: """
                    INSERT INTO community_post (community, uri, cid, author_did, created_at, indexed_at) VALUES (?, ?, ?, ?, ?, ?)
                    ON CONFLICT (community, uri) DO UPDATE SET cid = excluded.cid, created_at = excluded.created_at
                    WHERE cid != excluded.cid
                    """
            ).execute(arguments: [id, uri, cid, author, createdAt, indexedAt])
            try db.cachedStatement(
                sql: "UPDATE community SET last_post_at = ?1 WHERE id = ?2 AND (last_post_at IS NULL OR last_post_at < ?1)"
            ).execute(arguments: [createdAt, id])
            return true
        }
    }
}
