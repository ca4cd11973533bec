import GRDB

/// The community actors, by community id, created when first needed.
public actor CommunityDirectory {
    let pool: DatabasePool
    private var communities: [String: Community] = [:]

    public init(pool: DatabasePool) {
        self.pool = pool
    }

    /// The actor of community `id`, or nil when no config claims that id.
    func community(id: String) async throws -> Community? {
        if let community = communities[id] { return community }
        guard let community = try await Community.load(id: id, pool: pool) else { return nil }
        // Another caller may have loaded it meanwhile: keep the first.
        if let existing = communities[id] { return existing }
        communities[id] = community
        return community
    }

    /// The actor of the community whose config record is `configURI`.
    func community(configURI: String) async throws -> Community? {
        guard let id = try await pool.read({ db in
            try String.fetchOne(db, sql: "SELECT id FROM community WHERE config_uri = ?", arguments: [configURI])
        }) else { return nil }
        return try await community(id: id)
    }

    /// Forgets a removed community's actor.
    func forget(id: String) {
        communities[id] = nil
    }

    /// Forgets every actor (after a rebuild emptied the tables).
    func forgetAll() {
        communities = [:]
    }
}
