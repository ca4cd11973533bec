import ATProto
import Foundation
import GRDB
import Logging
import ServiceStorage

/// Applies ingested events to the community index: community configs,
/// membership claims and approvals, moderation actions, posts (routed to
/// every community they tag), deletes and account takedowns. Applying an
/// event twice leaves the index as applying it once (records are keyed by
/// URI, deleted records leave a tombstone), so the queue may deliver at
/// least once.
public struct EventIndexer: Sendable {
    let pool: DatabasePool
    let directory: CommunityDirectory
    let logger: Logger

    public init(pool: DatabasePool, directory: CommunityDirectory, logger: Logger) {
        self.pool = pool
        self.directory = directory
        self.logger = logger
    }

    /// Applies one event.
    /// - Throws: ``FeedGenError`` for an event that can never be applied
    ///   (invalid record), anything else for a failure worth retrying.
    public func apply(_ event: IngestEvent, now: Date = Date()) async throws {
        switch event {
        case .account(let did, let active, let status):
            guard !active, let status, ["takendown", "deleted", "suspended"].contains(status) else { return }
            let removed = try await pool.write { db in
                try db.execute(sql: "DELETE FROM community_post WHERE author_did = ?", arguments: [did])
                return db.changesCount
            }
            logger.info("feedgen: account \(status), its posts removed", metadata: ["did": .string(did.string), "posts": "\(removed)"])
        case .record(let change):
            switch change.collection {
            case AtrariumRecords.post: try await applyPost(change, now: now)
            case AtrariumRecords.config: try await applyConfig(change, now: now)
            case AtrariumRecords.membership: try await applyMembership(change)
            case AtrariumRecords.approval: try await applyApproval(change)
            case AtrariumRecords.moderationAction: try await applyModeration(change)
            default: return
            }
        }
    }

    // MARK: - Posts

    private func applyPost(_ change: RecordChange, now: Date) async throws {
        let uri = change.uri
        let nowMs = IngestQueue.milliseconds(now)
        guard change.operation != .delete, let record = change.record, let cid = change.cid else {
            try await pool.write { db in
                let cid = try String.fetchOne(db, sql: "SELECT cid FROM community_post WHERE uri = ? LIMIT 1", arguments: [uri]) ?? ""
                try db.execute(sql: "DELETE FROM community_post WHERE uri = ?", arguments: [uri])
                try db.execute(
                    sql: "INSERT OR REPLACE INTO record_tombstone (uri, cid, deleted_at) VALUES (?, ?, ?)", arguments: [uri, cid, nowMs])
            }
            return
        }
        let ids = CommunityHashtag.communityIDs(inPost: record)
        // The communities its hashtags name (the directory remembers the ids
        // that name none, so unknown ones cost no read).
        var named: [Community] = []
        for id in ids {
            if let community = try await directory.community(id: id) { named.append(community) }
        }
        if change.operation == .create && named.isEmpty {
            // A new post is indexed nowhere yet: nothing to read or write.
            if !ids.isEmpty && record["text"]?.stringValue == nil { throw FeedGenError.invalidRecord("post without text") }
            return
        }
        // One read for both: whether the post was deleted, and where it is indexed.
        let (tombstoned, indexedIn) = try await pool.read { db -> (Bool, [String]) in
            let tombstone = try db.cachedStatement(sql: "SELECT 1 FROM record_tombstone WHERE uri = ? AND (cid = ? OR cid = '')")
            guard try Bool.fetchOne(tombstone, arguments: [uri, cid]) == nil else { return (true, []) }
            let indexed = try db.cachedStatement(sql: "SELECT community FROM community_post WHERE uri = ?")
            return (false, try String.fetchAll(indexed, arguments: [uri]))
        }
        guard !tombstoned else { return }
        // An update may have removed a hashtag: drop the post from the others.
        let stale = indexedIn.filter { !ids.contains($0) }
        if !stale.isEmpty {
            try await pool.write { db in
                for id in stale {
                    try db.execute(sql: "DELETE FROM community_post WHERE community = ? AND uri = ?", arguments: [id, uri])
                }
            }
        }
        guard !ids.isEmpty else { return }
        guard record["text"]?.stringValue != nil else { throw FeedGenError.invalidRecord("post without text") }
        var createdAt = nowMs
        if let raw = record["createdAt"]?.stringValue, let date = try? ATDatetime(raw).date {
            // Never later than now, so a post cannot pin itself to the top.
            createdAt = min(nowMs, IngestQueue.milliseconds(date))
        }
        for community in named {
            try await community.indexPost(uri: uri, cid: cid, author: change.did, createdAt: createdAt, indexedAt: nowMs)
        }
    }

    // MARK: - Community configs

    private func applyConfig(_ change: RecordChange, now: Date) async throws {
        let uri = change.uri
        guard change.operation != .delete, let record = change.record, let cid = change.cid else {
            if let id = try await removeCommunity(configURI: uri) {
                logger.info("feedgen: community removed", metadata: ["community": .string(id), "config": .string(uri)])
            }
            return
        }
        let config = try AtrariumRecords.checkConfig(record)
        let moderators = String(decoding: try JSONEncoder().encode(config.moderators), as: UTF8.self)
        let blocklist = String(decoding: try JSONEncoder().encode(config.blocklist), as: UTF8.self)
        let ms = IngestQueue.milliseconds(now)
        let owner = change.did
        // The config may have moved to another hashtag: drop the old one.
        let previous = try await pool.read { db in
            try String.fetchOne(db, sql: "SELECT id FROM community WHERE config_uri = ?", arguments: [uri])
        }
        if let previous, previous != config.id { _ = try await removeCommunity(configURI: uri) }
        let claimedBy = try await pool.write { db -> String? in
            if let holder = try String.fetchOne(db, sql: "SELECT config_uri FROM community WHERE id = ?", arguments: [config.id]),
                holder != uri
            {
                return holder
            }
            try db.execute(
                sql: """
                    INSERT INTO community (id, config_uri, config_cid, owner_did, name, description, stage, access_type, parent_uri,
                        mix_own, mix_parent, mix_global, moderators, blocklist, created_at, indexed_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT (id) DO UPDATE SET config_cid = excluded.config_cid, name = excluded.name,
                        description = excluded.description, stage = excluded.stage, access_type = excluded.access_type,
                        parent_uri = excluded.parent_uri, mix_own = excluded.mix_own, mix_parent = excluded.mix_parent,
                        mix_global = excluded.mix_global, moderators = excluded.moderators, blocklist = excluded.blocklist,
                        created_at = excluded.created_at
                    """,
                arguments: [
                    config.id, uri, cid, owner, config.name, config.description, config.stage, config.accessType, config.parentURI,
                    config.feedMix.own, config.feedMix.parent, config.feedMix.global, moderators, blocklist, config.createdAt, ms,
                ])
            return nil
        }
        if let claimedBy {
            // Someone else's hashtag: a self-declared owner is ignored.
            logger.warning(
                "feedgen: community config ignored, its hashtag belongs to another community",
                metadata: ["config": .string(uri), "community": .string(config.id), "owner": .string(claimedBy)])
            return
        }
        await directory.configured(id: config.id)
        try await directory.community(id: config.id)?.reload()
    }

    /// Removes the community whose config is `configURI`, with its posts
    /// and decisions. - Returns: its id, or nil when there was none.
    private func removeCommunity(configURI: String) async throws -> String? {
        let id = try await pool.write { db -> String? in
            guard let id = try String.fetchOne(db, sql: "SELECT id FROM community WHERE config_uri = ?", arguments: [configURI])
            else { return nil }
            for table in ["community_post", "community_member", "community_hidden_post", "community_blocked_user"] {
                try db.execute(sql: "DELETE FROM \(table) WHERE community = ?", arguments: [id])
            }
            try db.execute(sql: "DELETE FROM community WHERE id = ?", arguments: [id])
            return id
        }
        if let id { await directory.forget(id: id) }
        return id
    }

    // MARK: - Memberships, approvals, moderation

    private func applyMembership(_ change: RecordChange) async throws {
        let uri = change.uri
        let communityURI: String?
        if change.operation == .delete {
            communityURI = try await pool.write { db in
                let community = try String.fetchOne(db, sql: "SELECT community_uri FROM membership_claim WHERE uri = ?", arguments: [uri])
                try db.execute(sql: "DELETE FROM membership_claim WHERE uri = ?", arguments: [uri])
                return community
            }
        } else {
            let record = change.record ?? .null
            try AtrariumRecords.validate(record, collection: AtrariumRecords.membership)
            let target = record["community"]?.stringValue ?? ""
            // The published schema makes `active` optional, defaulting to true.
            let active = record["active"]?.boolValue ?? true
            let joinedAt = record["joinedAt"]?.stringValue ?? ""
            try await pool.write { db in
                try db.execute(
                    sql: "INSERT OR REPLACE INTO membership_claim (uri, member_did, community_uri, active, joined_at) VALUES (?, ?, ?, ?, ?)",
                    arguments: [uri, change.did, target, active, joinedAt])
            }
            communityURI = target
        }
        if let communityURI, let community = try await directory.community(configURI: communityURI) {
            try await community.recomputeMember(change.did)
        }
    }

    private func applyApproval(_ change: RecordChange) async throws {
        let uri = change.uri
        let affected: (community: String, member: DID)?
        if change.operation == .delete {
            affected = try await pool.write { db in
                let row = try Row.fetchOne(db, sql: "SELECT community_uri, member_did FROM membership_approval WHERE uri = ?", arguments: [uri])
                try db.execute(sql: "DELETE FROM membership_approval WHERE uri = ?", arguments: [uri])
                return row.map { (community: $0["community_uri"] as String, member: $0["member_did"] as DID) }
            }
        } else {
            let record = change.record ?? .null
            try AtrariumRecords.validate(record, collection: AtrariumRecords.approval)
            let target = record["community"]?.stringValue ?? ""
            // The lexicon's `format: did`, checked by `validate` above.
            guard let member = record["member"]?.stringValue.flatMap({ try? DID($0) }) else {
                throw FeedGenError.invalidRecord("an approval needs a member DID")
            }
            try await pool.write { db in
                try db.execute(
                    sql: "INSERT OR REPLACE INTO membership_approval (uri, approver_did, community_uri, member_did) VALUES (?, ?, ?, ?)",
                    arguments: [uri, change.did, target, member])
            }
            affected = (target, member)
        }
        if let affected, let community = try await directory.community(configURI: affected.community) {
            try await community.recomputeMember(affected.member)
        }
    }

    private func applyModeration(_ change: RecordChange) async throws {
        let uri = change.uri
        let communityURI: String?
        if change.operation == .delete {
            communityURI = try await pool.write { db in
                let community = try String.fetchOne(db, sql: "SELECT community_uri FROM moderation_action WHERE uri = ?", arguments: [uri])
                try db.execute(sql: "DELETE FROM moderation_action WHERE uri = ?", arguments: [uri])
                return community
            }
        } else {
            let record = change.record ?? .null
            try AtrariumRecords.validate(record, collection: AtrariumRecords.moderationAction)
            let action = record["action"]?.stringValue ?? ""
            let target = record["target"]
            let targetURI = target?["uri"]?.stringValue
            let targetDID = target?["did"]?.stringValue.flatMap { try? DID($0) }
            let isPostAction = action == "hide_post" || action == "unhide_post"
            guard isPostAction ? targetURI != nil : targetDID != nil else {
                throw FeedGenError.invalidRecord("\(action) needs a \(isPostAction ? "post (#postTarget)" : "user (did)") target")
            }
            let target_ = record["community"]?.stringValue ?? ""
            let createdAt = record["createdAt"]?.stringValue ?? ""
            try await pool.write { db in
                try db.execute(
                    sql: """
                        INSERT OR REPLACE INTO moderation_action (uri, author_did, community_uri, action, target_uri, target_did, created_at, reason)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                        """, arguments: [uri, change.did, target_, action, targetURI, targetDID, createdAt, record["reason"]?.stringValue])
            }
            communityURI = target_
        }
        if let communityURI, let community = try await directory.community(configURI: communityURI) {
            try await community.recomputeModeration()
        }
    }
}
