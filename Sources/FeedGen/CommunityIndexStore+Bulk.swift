import GRDB

/// A community written straight into the index, without a config record
/// (``CommunityIndexStore/bulkInsert(communities:indexedAt:postCount:post:)``).
public struct CommunitySeed: Sendable {
    public var id: String
    public var configURI: String
    public var configCID: String
    public var owner: String
    public var name: String
    public var stage: String
    public var accessType: String
    /// The config's `createdAt` (an atproto datetime).
    public var createdAt: String

    /// A community with the default feed mix, no description, parent,
    /// moderators or blocklist.
    public init(
        id: String, configURI: String, configCID: String, owner: String, name: String, stage: String, accessType: String, createdAt: String
    ) {
        self.id = id
        self.configURI = configURI
        self.configCID = configCID
        self.owner = owner
        self.name = name
        self.stage = stage
        self.accessType = accessType
        self.createdAt = createdAt
    }
}

/// A post written straight into a community's feed
/// (``CommunityIndexStore/bulkInsert(communities:indexedAt:postCount:post:)``).
public struct PostSeed: Sendable {
    /// The community's id.
    public var community: String
    public var uri: String
    public var cid: String
    public var author: String
    /// Unix milliseconds.
    public var createdAt: Int64

    /// A post `uri` (version `cid`) by `author` in community `community`.
    public init(community: String, uri: String, cid: String, author: String, createdAt: Int64) {
        self.community = community
        self.uri = uri
        self.cid = cid
        self.author = author
        self.createdAt = createdAt
    }
}

extension CommunityIndexStore {
    /// Writes communities and posts straight into the index tables, in one
    /// transaction, bypassing the ingest and the community rules (for
    /// `pds bench feedgen`'s skeleton query at scale). The posts are made
    /// one at a time by `post(0..<postCount)`, so a million of them are
    /// never held at once. `indexedAt` is unix milliseconds.
    public func bulkInsert(
        communities: [CommunitySeed], indexedAt: Int64, postCount: Int, post: @escaping @Sendable (Int) -> PostSeed
    ) async throws {
        try await pool.write { db in
            let community = try db.makeStatement(
                sql: """
                    INSERT INTO community (id, config_uri, config_cid, owner_did, name, stage, access_type, created_at, indexed_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """)
            for c in communities {
                try community.execute(
                    arguments: [c.id, c.configURI, c.configCID, c.owner, c.name, c.stage, c.accessType, c.createdAt, indexedAt])
            }
            let statement = try db.makeStatement(
                sql: "INSERT INTO community_post (community, uri, cid, author_did, created_at, indexed_at) VALUES (?, ?, ?, ?, ?, ?)")
            for n in 0..<postCount {
                let p = post(n)
                try statement.execute(arguments: [p.community, p.uri, p.cid, p.author, p.createdAt, indexedAt])
            }
            try db.execute(sql: "UPDATE community SET last_post_at = (SELECT MAX(created_at) FROM community_post p WHERE p.community = community.id)")
        }
    }
}

/// A member written straight into a community (``CommunityIndexStore/bulkInsertMembers(_:)``).
public struct MemberSeed: Sendable {
    public var community: String
    public var configURI: String
    public var did: String
    public var role: String
    /// The claim's `joinedAt` (an atproto datetime).
    public var joinedAt: String

    public init(community: String, configURI: String, did: String, role: String, joinedAt: String) {
        self.community = community
        self.configURI = configURI
        self.did = did
        self.role = role
        self.joinedAt = joinedAt
    }
}

extension CommunityIndexStore {
    /// Writes members and their claims straight into the index, in one
    /// transaction (for `pds bench dashboard`).
    public func bulkInsertMembers(_ members: [MemberSeed]) async throws {
        try await pool.write { db in
            let member = try db.makeStatement(sql: "INSERT OR IGNORE INTO community_member (community, did, role) VALUES (?, ?, ?)")
            let claim = try db.makeStatement(
                sql: "INSERT INTO membership_claim (uri, member_did, community_uri, active, joined_at) VALUES (?, ?, ?, 1, ?)")
            for (n, m) in members.enumerated() {
                try member.execute(arguments: [m.community, m.did, m.role])
                try claim.execute(arguments: ["at://\(m.did)/net.atrarium.community.membership/bench\(n)", m.did, m.configURI, m.joinedAt])
            }
        }
    }
}
