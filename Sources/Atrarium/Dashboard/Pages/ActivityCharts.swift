import FeedGen
import Foundation
import Synchronization

/// The instance's busiest communities, shown on everyone's home and
/// sign-in pages. The ranking counts every post of the retention window
/// (100,000 posts take ~14 ms to group), so it is kept for up to a minute,
/// and computed again sooner when the index's activity stamp moves (a
/// community added or a post newer than any before).
final class BusiestCommunities: Sendable {
    static let lifetime: Duration = .seconds(60)
    private let cached = Mutex<(at: ContinuousClock.Instant, stamp: String, rows: [(community: IndexedCommunity, posts: Int)])?>(nil)

    func rows(stamp: String, compute: () async throws -> [(community: IndexedCommunity, posts: Int)]) async throws
        -> [(community: IndexedCommunity, posts: Int)]
    {
        let now = ContinuousClock.now
        if let hit = cached.withLock({ $0 }), hit.stamp == stamp, now - hit.at < Self.lifetime { return hit.rows }
        let rows = try await compute()
        cached.withLock { $0 = (now, stamp, rows) }
        return rows
    }
}

/// The pictures of the dashboard: a community's activity over the
/// retention window, the instance's busiest communities, and the lifecycle
/// notes (Atrarium's next phase: stage suggestions, the 200-member warning,
/// inactivity).
extension DashboardPages {
    /// Past this many members a community is hard for its moderators to
    /// know (Atrarium's design: Dunbar-sized groups).
    static let largeCommunityMembers = 200

    /// Days the charts cover: the feed's retention window.
    var chartDays: Int { max(1, api.generator.config.retentionSeconds / 86_400) }

    /// The charts of community `id`: posts per day, members, indexing lag.
    func charts(_ page: Page, id: String, configURI: String) async throws -> [[String: Any]] {
        let activity = try await api.index.activity(id: id, configURI: configURI, days: chartDays)
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "MM-dd"
        let labels = (0..<activity.postsPerDay.count).map {
            formatter.string(from: Date(timeIntervalSince1970: TimeInterval(activity.firstDay + Int64($0) * 86_400)))
        }
        let whole: (Double) -> String = { String(Int($0.rounded())) }
        let seconds: (Double) -> String = { $0 < 10 ? String(format: "%.1f s", $0) : String(format: "%.0f s", $0) }
        let posts = SVGChart.Series(labels: labels, values: activity.postsPerDay.map(Double.init), format: whole)
        let members = SVGChart.Series(labels: labels, values: activity.membersPerDay.map(Double.init), format: whole)
        let lag = SVGChart.Series(labels: labels, values: activity.lagSecondsPerDay, format: seconds)
        let totalPosts = activity.postsPerDay.reduce(0, +)
        return [
            [
                "caption": page.t("chart_posts"), "svg": SVGChart.bars(page.t("chart_posts"), posts),
                "summary": PageStrings.format(page.t("chart_posts_summary"), ["count": String(totalPosts), "days": String(labels.count)]),
                "id": "chart-posts",
            ],
            [
                "caption": page.t("chart_members"), "svg": SVGChart.line(page.t("chart_members"), members),
                "summary": PageStrings.format(page.t("chart_members_summary"), ["count": String(activity.membersPerDay.last ?? 0)]),
                "id": "chart-members",
            ],
            [
                "caption": page.t("chart_lag"), "svg": SVGChart.bars(page.t("chart_lag"), lag),
                "summary": PageStrings.format(page.t("chart_lag_summary"), ["lag": activity.lagSecondsPerDay.compactMap { $0 }.last.map(seconds) ?? "–"]),
                "id": "chart-lag",
            ],
        ]
    }

    /// What the dashboard suggests about a community's stage and size, and
    /// whether it has gone quiet; the stage suggestion is for the owner only.
    func lifecycleNotes(_ page: Page, community: IndexedCommunity, isOwner: Bool) -> [String] {
        var notes: [String] = []
        let count = String(community.memberCount)
        if isOwner, community.stage == "theme", community.memberCount >= api.config.suggestCommunityAtMembers {
            notes.append(PageStrings.format(page.t("suggest_community"), ["count": count]))
        }
        if community.memberCount > Self.largeCommunityMembers {
            notes.append(PageStrings.format(page.t("warn_large"), ["count": count]))
        }
        if community.isInactive(days: api.generator.config.inactiveAfterDays) {
            notes.append(PageStrings.format(page.t("inactive_note"), ["days": String(api.generator.config.inactiveAfterDays)]))
        }
        return notes
    }

    /// The instance overview: the busiest communities over the retention
    /// window, as a ranking chart and a table.
    func overview(_ page: Page) async throws -> [String: Any] {
        let since = Int64(Date().timeIntervalSince1970) - Int64(chartDays) * 86_400
        let busiest = try await busiestCommunities.rows(stamp: try await api.index.activityStamp()) {
            try await api.index.busiest(since: since, limit: 20)
        }
        let inactiveDays = api.generator.config.inactiveAfterDays
        let rows: [[String: Any]] = busiest.map { community, posts in
            [
                "id": community.id, "name": community.name, "members": community.memberCount, "posts": posts,
                "stageLabel": page.t("stage_" + community.stage), "signedIn": page.user != nil,
                "inactive": community.isInactive(days: inactiveDays),
            ]
        }
        let ranked = busiest.prefix(10).map { (name: $0.community.name, value: $0.posts) }
        return [
            "busiest": rows, "hasChart": !ranked.isEmpty,
            "overviewChart": ranked.isEmpty ? "" : SVGChart.ranking(page.t("busiest_caption"), Array(ranked)),
        ]
    }
}
