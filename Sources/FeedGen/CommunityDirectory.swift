import GRDB

/// The community actors, by community id, created when first needed, and
/// the ids found to name no community.
public actor CommunityDirectory {
    let pool: DatabasePool
    private var communities: [String: Community] = [:]
    /// Ids no config claimed when last looked up, so that posts tagged with
    /// them (a typo, spam, a community not created yet) cost no read.
    /// Dropped by ``configured(id:)``; all dropped past ``absentCapacity``.
    private var absent: Set<String> = []
    static let absentCapacity = 10_000
    /// Advances at every ``configured(id:)``: a lookup that ran across one
    /// does not record its id as absent (it may have read before the config).
    private var configurations: UInt64 = 0

    public init(pool: DatabasePool) {
        self.pool = pool
    }

    /// The actor of community `id`, or nil when no config claims that id.
    func community(id: String) async throws -> Community? {
        if let community = communities[id] { return community }
        if absent.contains(id) { return nil }
        let before = configurations
        guard let community = try await Community.load(id: id, pool: pool) else {
            if configurations == before {
                if absent.count >= Self.absentCapacity { absent.removeAll(keepingCapacity: true) }
                absent.insert(id)
            }
            return nil
        }
        // Another caller may have loaded it meanwhile: keep the first.
        if let existing = communities[id] { return existing }
        communities[id] = community
        return community
    }

    /// A config now claims `id` (it is stored): it is no longer absent.
    func configured(id: String) {
        configurations += 1
        absent.remove(id)
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
        configurations += 1
        absent = []
        communities = [:]
    }
}
