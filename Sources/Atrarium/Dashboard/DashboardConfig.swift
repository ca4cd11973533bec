import Foundation

/// How the Atrarium dashboard API (`/api/...`) is set up: the `dashboard`
/// object of the `pds serve` JSON config file, then `PDS_DASHBOARD_*`
/// environment variables (which win), then defaults. See `docs/CONFIG.md`.
public struct DashboardConfig: Sendable, Codable, Equatable {
    /// Whether `pds serve` serves the dashboard API.
    public var enabled: Bool = true
    /// Requests per user per hour on the dashboard API (feed reads apart).
    public var requestsPerHour: Int = 1000
    /// Feed reads (`GET /api/communities/:id/feed`) per user per hour.
    public var feedRequestsPerHour: Int = 100
    /// Milliseconds a write waits for the feed generator's index to catch
    /// up with its commit before answering from the written record.
    public var indexWaitMilliseconds: Int = 3000
    /// Members at which the dashboard suggests that a `theme` community
    /// move to the `community` stage.
    public var suggestCommunityAtMembers: Int = 30

    public init() {}

    /// Reads the `dashboard` object of a config file (if given) and then
    /// the environment.
    public static func load(file: String?, environment: [String: String] = ProcessInfo.processInfo.environment) throws
        -> DashboardConfig
    {
        var config = DashboardConfig()
        if let file {
            struct Wrapper: Decodable { var dashboard: DashboardConfig? }
            let data = try Data(contentsOf: URL(fileURLWithPath: file))
            config = try JSONDecoder().decode(Wrapper.self, from: data).dashboard ?? config
        }
        func int(_ name: String) throws -> Int? {
            guard let value = environment[name] else { return nil }
            guard let n = Int(value), n >= 0 else { throw ConfigError.invalid(name, value) }
            return n
        }
        if let v = environment["PDS_DASHBOARD_ENABLED"] { config.enabled = (v == "true" || v == "1") }
        if let v = try int("PDS_DASHBOARD_REQUESTS_PER_HOUR") { config.requestsPerHour = v }
        if let v = try int("PDS_DASHBOARD_FEED_REQUESTS_PER_HOUR") { config.feedRequestsPerHour = v }
        if let v = try int("PDS_DASHBOARD_INDEX_WAIT_MS") { config.indexWaitMilliseconds = v }
        if let v = try int("PDS_DASHBOARD_SUGGEST_COMMUNITY_AT") { config.suggestCommunityAtMembers = v }
        guard config.requestsPerHour >= 1, config.feedRequestsPerHour >= 1 else {
            throw ConfigError.invalid("requestsPerHour/feedRequestsPerHour", "must be at least 1")
        }
        return config
    }

    /// A setting that could not be used.
    public enum ConfigError: Error, CustomStringConvertible {
        case invalid(String, String)
        public var description: String {
            switch self {
            case .invalid(let name, let value): return "invalid value '\(value)' for \(name)"
            }
        }
    }

    enum CodingKeys: String, CodingKey {
        case enabled, requestsPerHour, feedRequestsPerHour, indexWaitMilliseconds, suggestCommunityAtMembers
    }

    /// Every key is optional in the file; an absent one keeps its default.
    public init(from decoder: any Decoder) throws {
        self.init()
        let c = try decoder.container(keyedBy: CodingKeys.self)
        if let v = try c.decodeIfPresent(Bool.self, forKey: .enabled) { enabled = v }
        if let v = try c.decodeIfPresent(Int.self, forKey: .requestsPerHour) { requestsPerHour = v }
        if let v = try c.decodeIfPresent(Int.self, forKey: .feedRequestsPerHour) { feedRequestsPerHour = v }
        if let v = try c.decodeIfPresent(Int.self, forKey: .indexWaitMilliseconds) { indexWaitMilliseconds = v }
        if let v = try c.decodeIfPresent(Int.self, forKey: .suggestCommunityAtMembers) { suggestCommunityAtMembers = v }
    }
}
