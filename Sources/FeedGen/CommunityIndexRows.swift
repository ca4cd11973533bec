import ATProto
import Foundation
import GRDB
import ServiceStorage

/// A community as the index holds it: its config's fields and how many
/// active members it has.
public struct IndexedCommunity: Sendable, Equatable {
    /// When its latest post was made, or (with none) when it was first
    /// indexed; unix milliseconds.
    public let lastActivityAt: Int64
    /// The 8 hex digits of its hashtag.
    public let id: String
    /// The `at://` URI of its config record.
    public let configURI: String
    public let configCID: String
    /// The config's author.
    public let owner: DID
    public let name: String
    public let description: String?
    public let stage: String
    public let accessType: String
    public let parentURI: String?
    public let feedMix: FeedMix
    public let moderators: [DID]
    public let blocklist: [DID]
    /// The config's `createdAt`, as written.
    public let createdAt: String
    /// Active members, owner and moderators included.
    public let memberCount: Int

    /// A row of `community` with its `member_count`.
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
        moderators = Community.didList(row["moderators"])
        blocklist = Community.didList(row["blocklist"])
        createdAt = row["created_at"]
        memberCount = row["member_count"]
        lastActivityAt = row["last_post_at"] ?? row["indexed_at"]
    }

    /// Whether no post came for `days` days (counted from its creation
    /// when it never had one).
    public func isInactive(days: Int, now: Date = Date()) -> Bool {
        lastActivityAt < Int64((now.timeIntervalSince1970 - Double(days) * 86_400) * 1000)
    }
}

/// An active member of a community, with the role the rules give it.
public struct IndexedMember: Sendable, Equatable {
    public let did: DID
    /// owner, moderator or member.
    public let role: String
    /// Whether the feed excludes its posts (blocked in the community).
    public let isBlocked: Bool
}

/// A community's members: the active ones, and the accounts whose claims
/// do not count yet.
public struct CommunityMembers: Sendable, Equatable {
    public let active: [IndexedMember]
    /// DIDs with an active claim that are not active members.
    public let pending: [DID]
}

/// One `net.atrarium.moderation.action` record as the index holds it.
public struct IndexedModerationAction: Sendable, Equatable {
    public let uri: String
    /// Its author's DID.
    public let author: DID
    /// The record's `action` (hide_post, unhide_post, block_user, unblock_user).
    public let action: String
    /// The post acted on, for hide_post and unhide_post.
    public let targetURI: String?
    /// The account acted on, for block_user and unblock_user.
    public let targetDID: DID?
    /// The record's `createdAt`, as written.
    public let createdAt: String
    /// The record's `reason`, if it gave one.
    public var reason: String? = nil
}
