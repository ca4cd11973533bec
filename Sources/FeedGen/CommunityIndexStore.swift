import ATProto
import Foundation
import GRDB
import ServiceStorage

/// The reads of the community index that serve the world outside the
/// ingest path (the dashboard API, `pds bench feedgen`): communities,
/// members and their roles, membership claims and approvals, moderation
/// history, hidden posts, blocked accounts and indexed posts, as typed
/// rows. The tables stay the feed generator's own; what other targets may
/// ask of them is what this store offers. Every read maps rows to Sendable
/// values inside the closure, so GRDB's async overloads are used.
public struct CommunityIndexStore: Sendable {
    let pool: DatabasePool

    /// A store over the feed generator's database (``FeedGenDatabase``).
    public init(pool: DatabasePool) {
        self.pool = pool
    }

    private static let communitySQL = """
        SELECT c.*, (SELECT COUNT(*) FROM community_member m WHERE m.community = c.id) AS member_count FROM community c
        """

    // MARK: - Communities

    /// The community `id`, or nil when no config claims that id.
    public func community(id: String) async throws -> IndexedCommunity? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: Self.communitySQL + " WHERE c.id = ?", arguments: [id]).map(IndexedCommunity.init(row:))
        }
    }

    /// Whether a config claims community id `id`.
    public func communityExists(id: String) async throws -> Bool {
        try await pool.read { db in try Bool.fetchOne(db, sql: "SELECT 1 FROM community WHERE id = ?", arguments: [id]) ?? false }
    }

    /// The CID of the config record the index holds for community `id`, or
    /// nil when there is no such community.
    public func configCID(id: String) async throws -> String? {
        try await pool.read { db in try String.fetchOne(db, sql: "SELECT config_cid FROM community WHERE id = ?", arguments: [id]) }
    }

    /// The first `limit` communities, by id.
    public func communities(limit: Int) async throws -> [IndexedCommunity] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: Self.communitySQL + " ORDER BY c.id LIMIT ?", arguments: [limit]).map(IndexedCommunity.init(row:))
        }
    }

    /// The first `limit` communities, by id, where `member` is active or
    /// has an active membership claim, each with `member`'s role there (nil
    /// when the claim does not count yet: pending).
    public func communities(involving member: DID, limit: Int) async throws -> [(community: IndexedCommunity, role: String?)] {
        try await pool.read { db -> [(community: IndexedCommunity, role: String?)] in
            try Row.fetchAll(
                db,
                sql: Self.communitySQL + """
                     WHERE c.id IN (SELECT community FROM community_member WHERE did = ?)
                        OR c.config_uri IN (SELECT community_uri FROM membership_claim WHERE member_did = ? AND active = 1)
                     ORDER BY c.id LIMIT ?
                    """, arguments: [member, member, limit]
            ).map { row in
                let community = IndexedCommunity(row: row)
                return (community, try Self.role(of: member, in: community.id, db: db))
            }
        }
    }

    // MARK: - Members

    /// The role the rules give `did` in community `id` (owner, moderator,
    /// member), or nil when it is not an active member.
    public func role(of did: DID, in id: String) async throws -> String? {
        try await pool.read { db in try Self.role(of: did, in: id, db: db) }
    }

    private static func role(of did: DID, in id: String, db: Database) throws -> String? {
        try String.fetchOne(db, sql: "SELECT role FROM community_member WHERE community = ? AND did = ?", arguments: [id, did])
    }

    /// The active members of community `id` (owner and moderators first,
    /// then by DID), each marked when blocked; and, when `includePending`,
    /// the accounts with an active claim on its config `configURI` that do
    /// not count yet, by DID. One read, so no account is in both lists.
    public func members(of id: String, configURI: String, includePending: Bool) async throws -> CommunityMembers {
        try await pool.read { db -> CommunityMembers in
            let active = try Row.fetchAll(
                db,
                sql: """
                    SELECT m.did, m.role, b.did IS NOT NULL AS blocked FROM community_member m
                    LEFT JOIN community_blocked_user b ON b.community = m.community AND b.did = m.did
                    WHERE m.community = ? ORDER BY m.role = 'member', m.did
                    """, arguments: [id]
            ).map { IndexedMember(did: $0["did"], role: $0["role"], isBlocked: $0["blocked"]) }
            guard includePending else { return CommunityMembers(active: active, pending: []) }
            let pending = try DID.fetchAll(
                db,
                sql: """
                    SELECT DISTINCT member_did FROM membership_claim WHERE community_uri = ? AND active = 1
                    AND member_did NOT IN (SELECT did FROM community_member WHERE community = ?) ORDER BY member_did
                    """, arguments: [configURI, id])
            return CommunityMembers(active: active, pending: pending)
        }
    }

    /// Whether `did` is blocked in community `id` (by a moderation action
    /// that counts or by the config's blocklist).
    public func isBlocked(_ did: DID, in id: String) async throws -> Bool {
        try await pool.read { db in
            try Bool.fetchOne(db, sql: "SELECT 1 FROM community_blocked_user WHERE community = ? AND did = ?", arguments: [id, did]) ?? false
        }
    }

    // MARK: - Membership claims and approvals

    /// Whether `did` has an active membership claim in the community of `configURI`.
    public func hasActiveClaim(_ did: DID, configURI: String) async throws -> Bool {
        try await pool.read { db in
            try Bool.fetchOne(
                db, sql: "SELECT 1 FROM membership_claim WHERE community_uri = ? AND member_did = ? AND active = 1 LIMIT 1",
                arguments: [configURI, did]) ?? false
        }
    }

    /// Whether the index holds the membership claim record `uri`.
    public func claimExists(uri: String) async throws -> Bool {
        try await pool.read { db in try Bool.fetchOne(db, sql: "SELECT 1 FROM membership_claim WHERE uri = ?", arguments: [uri]) ?? false }
    }

    /// The URIs of every membership claim (active or not) `did` made on the
    /// community of `configURI`, in order.
    public func claimURIs(of did: DID, configURI: String) async throws -> [String] {
        try await pool.read { db in
            try String.fetchAll(
                db, sql: "SELECT uri FROM membership_claim WHERE community_uri = ? AND member_did = ? ORDER BY uri", arguments: [configURI, did])
        }
    }

    /// The URIs of the approvals `approver` wrote of `member`'s claim on the
    /// community of `configURI`.
    public func approvalURIs(of member: DID, by approver: DID, configURI: String) async throws -> [String] {
        try await pool.read { db in
            try String.fetchAll(
                db, sql: "SELECT uri FROM membership_approval WHERE community_uri = ? AND member_did = ? AND approver_did = ?",
                arguments: [configURI, member, approver])
        }
    }

    // MARK: - Moderation

    /// The moderation actions written on the community of `configURI` (by
    /// anyone: whether one counts is its author's authority), newest first.
    public func moderationActions(configURI: String, limit: Int) async throws -> [IndexedModerationAction] {
        try await pool.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT uri, author_did, action, target_uri, target_did, created_at, reason FROM moderation_action
                    WHERE community_uri = ? ORDER BY created_at DESC, uri DESC LIMIT ?
                    """, arguments: [configURI, limit]
            ).map { row in
                IndexedModerationAction(
                    uri: row["uri"], author: row["author_did"], action: row["action"], targetURI: row["target_uri"],
                    targetDID: row["target_did"], createdAt: row["created_at"], reason: row["reason"])
            }
        }
    }

    /// Whether post `uri` is hidden in community `id`.
    public func isHidden(post uri: String, in id: String) async throws -> Bool {
        try await pool.read { db in
            try Bool.fetchOne(db, sql: "SELECT 1 FROM community_hidden_post WHERE community = ? AND uri = ?", arguments: [id, uri]) ?? false
        }
    }

    // MARK: - Posts

    /// The CID under which the index holds post `uri` (in any community), if any.
    public func postCID(_ uri: String) async throws -> String? {
        try await pool.read { db in try String.fetchOne(db, sql: "SELECT cid FROM community_post WHERE uri = ? LIMIT 1", arguments: [uri]) }
    }

    /// Whether post `uri` is indexed in any community.
    public func isPostIndexed(_ uri: String) async throws -> Bool {
        try await pool.read { db in try Bool.fetchOne(db, sql: "SELECT 1 FROM community_post WHERE uri = ?", arguments: [uri]) } == true
    }
}
