import ATProto
import GRDB

/// One item of a feed skeleton.
public struct FeedItem: Sendable, Equatable {
    public let uri: String
    public let cid: String
    /// Unix milliseconds.
    public let createdAt: Int64

    var position: FeedPosition { FeedPosition(createdAt: createdAt, cid: cid) }
}

/// A page of a feed: its items and the cursor of the next page (nil on the
/// last page).
public struct FeedPage: Sendable, Equatable {
    public let items: [FeedItem]
    public let cursor: String?
}

/// Reads a community's feed from the index, newest first by
/// `(created_at, cid)`. Hidden posts and blocked authors are filtered in
/// the query, before the limit, so every page but the last is full. A
/// community whose `feedMix` takes from its parent or from the whole
/// instance gets those sources mixed in by its percentages, with a
/// compound cursor keeping each source's position.
public struct FeedSkeletonQuery: Sendable {
    let reader: any DatabaseReader

    public init(reader: any DatabaseReader) {
        self.reader = reader
    }

    /// The community's facts the query needs.
    struct Source: Sendable {
        var id: String
        var mix: FeedMix
        var parentID: String?
    }

    /// A page of community `id`'s feed.
    public func page(community id: String, limit: Int, cursor: String?) async throws -> FeedPage {
        guard let source = try await reader.read({ db in try Self.source(id: id, db: db) }) else {
            throw FeedGenError.unknownFeed(id)
        }
        var mix = source.mix
        if source.parentID == nil {
            mix.own += mix.parent
            mix.parent = 0
        }
        if mix.own == 100 {
            let after = try cursor.map { c throws(FeedGenError) -> FeedPosition in
                if c.hasPrefix("mix:") { throw .badCursor("This cursor belongs to a mixed feed; start again without a cursor") }
                return try FeedPosition(parsing: Substring(c))
            }
            let rows = try await reader.read { db in try Self.fetch(.community(id), after: after, limit: limit + 1, db: db) }
            let items = Array(rows.prefix(limit))
            return FeedPage(items: items, cursor: rows.count > limit ? items.last?.position.string : nil)
        }
        return try await mixedPage(source: source, mix: mix, limit: limit, cursor: cursor)
    }

    // MARK: - Mixed feeds

    private func mixedPage(source: Source, mix: FeedMix, limit: Int, cursor: String?) async throws -> FeedPage {
        var state = try cursor.map { c throws(FeedGenError) in try MixCursor(parsing: c) } ?? .start
        let scopes: [Scope] = [
            .community(source.id), source.parentID.map(Scope.community) ?? .none,
            .global(excluding: [source.id] + (source.parentID.map { [$0] } ?? [])),
        ]
        let positions = [state.own, state.parent, state.global]
        let percents = [mix.own, mix.parent, mix.global]
        // Each source's share of the page, the rounding remainder to the largest.
        var quotas = percents.map { limit * $0 / 100 }
        if let largest = percents.indices.max(by: { percents[$0] < percents[$1] }) {
            quotas[largest] += limit - quotas.reduce(0, +)
        }
        var fetched: [[FeedItem]] = []
        for (scope, position) in zip(scopes, positions) {
            switch position {
            case .end:
                fetched.append([])
            case .start, .after:
                let after: FeedPosition? = if case .after(let p) = position { p } else { nil }
                let rows = try await reader.read { db in try Self.fetch(scope, after: after, limit: limit + 1, db: db) }
                fetched.append(rows)
            }
        }
        var take = zip(quotas, fetched).map { min($0, $1.count) }
        // A source short of its share leaves the rest to the others.
        var left = limit - take.reduce(0, +)
        for i in take.indices where left > 0 {
            let extra = min(left, min(fetched[i].count, limit) - take[i])
            if extra > 0 {
                take[i] += extra
                left -= extra
            }
        }
        var newPositions: [MixCursor.Position] = []
        var chosen: [FeedItem] = []
        for i in 0..<3 {
            let taken = Array(fetched[i].prefix(take[i]))
            chosen += taken
            if case .end = positions[i] {
                newPositions.append(.end)
            } else if fetched[i].count <= take[i] {
                newPositions.append(.end)
            } else if let last = taken.last {
                newPositions.append(.after(last.position))
            } else {
                newPositions.append(positions[i])
            }
        }
        state = MixCursor(own: newPositions[0], parent: newPositions[1], global: newPositions[2])
        var seen = Set<String>()
        let items = chosen.sorted { ($0.createdAt, $0.cid) > ($1.createdAt, $1.cid) }.filter { seen.insert($0.uri).inserted }
        return FeedPage(items: items, cursor: items.isEmpty || state.isExhausted ? nil : state.string)
    }

    // MARK: - SQL

    enum Scope: Sendable {
        case community(String)
        case global(excluding: [String])
        case none
    }

    static func source(id: String, db: Database) throws -> Source? {
        // Statements prepared once per connection: this runs for every feed page.
        guard let row = try Row.fetchOne(
            db.cachedStatement(sql: "SELECT mix_own, mix_parent, mix_global, parent_uri FROM community WHERE id = ?"), arguments: [id])
        else { return nil }
        let parentURI: String? = row["parent_uri"]
        let parentID = try parentURI.flatMap {
            try String.fetchOne(db.cachedStatement(sql: "SELECT id FROM community WHERE config_uri = ?"), arguments: [$0])
        }
        return Source(
            id: id, mix: FeedMix(own: row["mix_own"], parent: row["mix_parent"], global: row["mix_global"]),
            parentID: parentID == id ? nil : parentID)
    }

    static let visible = """
        NOT EXISTS (SELECT 1 FROM community_hidden_post h WHERE h.community = p.community AND h.uri = p.uri)
        AND NOT EXISTS (SELECT 1 FROM community_blocked_user b WHERE b.community = p.community AND b.did = p.author_did)
        """

    static func fetch(_ scope: Scope, after: FeedPosition?, limit: Int, db: Database) throws -> [FeedItem] {
        var conditions = [visible]
        var arguments: StatementArguments = []
        switch scope {
        case .none:
            return []
        case .community(let id):
            conditions.append("p.community = ?")
            arguments += [id]
        case .global(let excluded):
            conditions.append("p.community NOT IN (\(excluded.map { _ in "?" }.joined(separator: ",")))")
            arguments += StatementArguments(excluded)
        }
        if let after {
            conditions.append("(p.created_at, p.cid) < (?, ?)")
            arguments += [after.createdAt, after.cid]
        }
        arguments += [limit]
        let sql = """
            SELECT p.uri, p.cid, p.created_at FROM community_post p WHERE \(conditions.joined(separator: " AND "))
            ORDER BY p.created_at DESC, p.cid DESC LIMIT ?
            """
        var items: [FeedItem] = []
        var seen = Set<String>()
        // A handful of shapes (scope, with or without a cursor): cached.
        for row in try Row.fetchAll(db.cachedStatement(sql: sql), arguments: arguments) {
            let item = FeedItem(uri: row["uri"], cid: row["cid"], createdAt: row["created_at"])
            // A post in several communities appears once in the global stream.
            if case .global = scope, !seen.insert(item.uri).inserted { continue }
            items.append(item)
        }
        return items
    }
}
