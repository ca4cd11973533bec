import ATProto
import FeedGen
import Foundation

/// A community as the dashboard API shows it: as the feed generator's
/// index knows it (``IndexedCommunity``), or from its config record before
/// the index has it.
struct CommunityView: Sendable {
    let id: String
    let configURI: String
    let configCID: String
    let owner: DID
    let name: String
    let description: String?
    let stage: String
    let accessType: String
    let parentURI: String?
    let feedMix: FeedMix
    let moderators: [DID]
    let blocklist: [DID]
    let createdAt: String
    let memberCount: Int

    /// A community from its config record, before the index has it.
    init(id: String, uri: String, cid: String, owner: DID, config: CommunityConfig, memberCount: Int) {
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

    /// A community as the index holds it.
    init(_ indexed: IndexedCommunity) {
        id = indexed.id
        configURI = indexed.configURI
        configCID = indexed.configCID
        owner = indexed.owner
        name = indexed.name
        description = indexed.description
        stage = indexed.stage
        accessType = indexed.accessType
        parentURI = indexed.parentURI
        feedMix = indexed.feedMix
        moderators = indexed.moderators
        blocklist = indexed.blocklist
        createdAt = indexed.createdAt
        memberCount = indexed.memberCount
    }

    /// The config record as the index knows it (for an owner whose
    /// repository is not on this PDS).
    var record: DataValue {
        var map: DataMap = [
            "$type": .string(AtrariumRecords.config.string), "name": .string(name), "hashtag": .string(CommunityHashtag.hashtag(id: id)),
            "stage": .string(stage), "accessType": .string(accessType),
            "feedMix": ["own": .int(Int64(feedMix.own)), "parent": .int(Int64(feedMix.parent)), "global": .int(Int64(feedMix.global))],
            "moderators": .array(moderators.map { .string($0.string) }), "createdAt": .string(createdAt),
        ]
        if !blocklist.isEmpty { map["blocklist"] = .array(blocklist.map { .string($0.string) }) }
        if let description { map["description"] = .string(description) }
        if let parentURI { map["parentCommunity"] = .string(parentURI) }
        return .map(map)
    }

    /// The JSON of the API, with the caller's `role` when known.
    func json(role: String?) -> DataValue {
        var map: DataMap = [
            "id": .string(id), "uri": .string(configURI), "cid": .string(configCID), "owner": .string(owner.string),
            "name": .string(name), "hashtag": .string(CommunityHashtag.hashtag(id: id)), "stage": .string(stage),
            "accessType": .string(accessType),
            "feedMix": ["own": .int(Int64(feedMix.own)), "parent": .int(Int64(feedMix.parent)), "global": .int(Int64(feedMix.global))],
            "moderators": .array(moderators.map { .string($0.string) }), "memberCount": .int(Int64(memberCount)),
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
    let did: DID
    let role: String
    let status: String

    var json: DataValue { ["did": .string(did.string), "role": .string(role), "status": .string(status)] }
}

extension MemberView {
    /// The dashboard's list: active members (blocked ones marked), then
    /// pending claims.
    static func list(_ members: CommunityMembers) -> [MemberView] {
        members.active.map { MemberView(did: $0.did, role: $0.role, status: $0.isBlocked ? "blocked" : "active") }
            + members.pending.map { MemberView(did: $0, role: "member", status: "pending") }
    }
}
