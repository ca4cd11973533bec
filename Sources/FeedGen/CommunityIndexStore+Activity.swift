import ATProto
import Foundation
import GRDB

/// What the dashboard's charts show: a community's posts, members and
/// indexing lag per day over the retention window, and the instance's
/// busiest communities.
public struct CommunityActivity: Sendable, Equatable {
    /// The first day's start (UTC midnight), unix seconds.
    public let firstDay: Int64
    /// Posts indexed per day, oldest day first.
    public let postsPerDay: [Int]
    /// Active members at the end of each day (by when they joined).
    public let membersPerDay: [Int]
    /// Mean seconds from a post's `createdAt` to its indexing, per day (nil without posts).
    public let lagSecondsPerDay: [Double?]
}

extension CommunityIndexStore {
    /// The activity of community `id` over the `days` days ending today.
    public func activity(id: String, configURI: String, days: Int, now: Date = Date()) async throws -> CommunityActivity {
        let today = Int64(now.timeIntervalSince1970) / 86_400 * 86_400
        let first = today - Int64(days - 1) * 86_400
        return try await pool.read { db in
            var posts = [Int](repeating: 0, count: days)
            var lagSums = [Double](repeating: 0, count: days)
            // Per day in SQL: a week of a busy community is tens of
            // thousands of posts, which need not cross into Swift.
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT (created_at / 1000 - ?) / 86400 AS day, COUNT(*) AS posts, SUM(indexed_at - created_at) AS lag
                    FROM community_post WHERE community = ? AND created_at >= ? GROUP BY day
                    """, arguments: [first, id, first * 1000])
            for row in rows {
                let day: Int = row["day"]
                guard (0..<days).contains(day) else { continue }
                posts[day] = row["posts"]
                lagSums[day] = row["lag"] ?? 0
            }
            // When each active member joined: its earliest claim (the owner, who
            // has none, when the community was created).
            let joined = try String?.fetchAll(
                db,
                sql: """
                    SELECT COALESCE(MIN(c.joined_at), (SELECT created_at FROM community WHERE id = ?2)) FROM community_member m
                    LEFT JOIN membership_claim c ON c.member_did = m.did AND c.community_uri = ?1
                    WHERE m.community = ?2 GROUP BY m.did
                    """, arguments: [configURI, id])
            var members = [Int](repeating: 0, count: days)
            for value in joined {
                let at = value.flatMap { try? ATDatetime($0) }.map { Int64($0.date.timeIntervalSince1970) } ?? first
                let day = max(0, Int((at - first) / 86_400))
                guard day < days else { continue }
                for d in day..<days { members[d] += 1 }
            }
            let lag = (0..<days).map { posts[$0] > 0 ? lagSums[$0] / Double(posts[$0]) / 1000 : nil }
            return CommunityActivity(firstDay: first, postsPerDay: posts, membersPerDay: members, lagSecondsPerDay: lag)
        }
    }

    /// Changes when a community is added or removed or a newer post than
    /// any before is indexed: what a cached ranking is checked against.
    public func activityStamp() async throws -> String {
        try await pool.read { db in
            let row = try Row.fetchOne(db, sql: "SELECT COUNT(*) AS n, MAX(last_post_at) AS latest FROM community")
            return "\(row?["n"] as Int? ?? 0):\(row?["latest"] as Int64? ?? 0)"
        }
    }

    /// The `limit` communities with the most posts since `since` (unix
    /// seconds), busiest first, with those counts; communities without
    /// posts follow, by member count.
    public func busiest(since: Int64, limit: Int) async throws -> [(community: IndexedCommunity, posts: Int)] {
        try await pool.read { db -> [(community: IndexedCommunity, posts: Int)] in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT c.*, (SELECT COUNT(*) FROM community_member m WHERE m.community = c.id) AS member_count,
                        COALESCE(p.posts, 0) AS posts
                    FROM community c
                    LEFT JOIN (SELECT community, COUNT(*) AS posts FROM community_post WHERE created_at >= ? GROUP BY community) p
                        ON p.community = c.id
                    ORDER BY posts DESC, member_count DESC, c.id LIMIT ?
                    """, arguments: [since * 1000, limit]
            ).map { (IndexedCommunity(row: $0), $0["posts"] as Int) }
        }
    }
}
