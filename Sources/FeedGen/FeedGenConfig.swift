import Foundation
import JetstreamCompression

/// How the Atrarium feed generator is set up: the `feedgen` object of the
/// `pds serve` JSON config file, then `PDS_FEEDGEN_*` environment variables
/// (which win), then defaults. See `docs/CONFIG.md`.
public struct FeedGenConfig: Sendable, Codable, Equatable {
    /// Whether `pds serve` runs the feed generator.
    public var enabled: Bool = true
    /// The feed generator's DID (`aud` of service JWTs, `did` of
    /// `describeFeedGenerator`); defaults to the PDS's service DID.
    public var feedGeneratorDID: String?
    /// The URL the feed generator is reached at (its DID document's
    /// `#bsky_fg` endpoint); defaults to the PDS's public URL.
    public var serviceEndpoint: String?
    /// Whether `pds serve` indexes its own repositories from the local event log.
    public var localIngest: Bool = true
    /// Jetstream endpoints (`wss://host/subscribe`) to index; none by default.
    public var jetstreamURLs: [String] = []
    /// Seconds a Jetstream cursor is rewound on reconnect.
    public var jetstreamRewindSeconds: Int = 5
    /// Whether Jetstream messages are asked for zstd-compressed
    /// (`compress=true`); off by default.
    public var jetstreamCompression: Bool = false
    /// A file holding the zstd dictionary the Jetstream endpoints compress
    /// with; Jetstream v1's own dictionary (bundled) when not set.
    public var jetstreamZstdDictionary: String?
    /// Seconds an indexed post is kept (7 days by default).
    public var retentionSeconds: Int = 7 * 24 * 3600
    /// Days without a post after which a community is marked inactive (in
    /// `describeFeedGenerator` and on the dashboard).
    public var inactiveAfterDays: Int = 14
    /// Seconds between runs of the retention job.
    public var retentionIntervalSeconds: Int = 3600
    /// Most queued events processed as one batch.
    public var batchSize: Int = 100
    /// Milliseconds an idle queue processor waits before looking again.
    public var batchIntervalMilliseconds: Int = 1000
    /// Attempts before a failing event goes to the dead-letter table.
    public var maxAttempts: Int = 5
    /// Largest ingest event (a Jetstream message or a decoded record), bytes.
    public var maxEventBytes: Int = 256 * 1024
    /// Port of the standalone server (`pds feedgen serve`).
    public var port: Int = 2584
    /// Address the standalone server binds.
    public var bindAddress: String = "127.0.0.1"

    public init() {}

    /// Reads the `feedgen` object of a config file (if given) and then the
    /// environment.
    public static func load(file: String?, environment: [String: String] = ProcessInfo.processInfo.environment) throws
        -> FeedGenConfig
    {
        var config = FeedGenConfig()
        if let file {
            struct Wrapper: Decodable { var feedgen: FeedGenConfig? }
            let data = try Data(contentsOf: URL(fileURLWithPath: file))
            config = try JSONDecoder().decode(Wrapper.self, from: data).feedgen ?? config
        }
        try config.apply(environment: environment)
        try config.check()
        return config
    }

    /// Overrides settings from `PDS_FEEDGEN_*` variables.
    public mutating func apply(environment env: [String: String]) throws {
        func int(_ name: String) throws -> Int? {
            guard let value = env[name] else { return nil }
            guard let n = Int(value) else { throw FeedGenError.invalidConfig("invalid value '\(value)' for \(name)") }
            return n
        }
        if let v = env["PDS_FEEDGEN_ENABLED"] { enabled = (v == "true" || v == "1") }
        if let v = env["PDS_FEEDGEN_DID"] { feedGeneratorDID = v }
        if let v = env["PDS_FEEDGEN_ENDPOINT"] { serviceEndpoint = v }
        if let v = env["PDS_FEEDGEN_LOCAL_INGEST"] { localIngest = (v == "true" || v == "1") }
        if let v = env["PDS_FEEDGEN_JETSTREAM"] {
            jetstreamURLs = v.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }
        if let v = try int("PDS_FEEDGEN_JETSTREAM_REWIND") { jetstreamRewindSeconds = v }
        if let v = env["PDS_FEEDGEN_JETSTREAM_COMPRESS"] { jetstreamCompression = (v == "true" || v == "1") }
        if let v = env["PDS_FEEDGEN_JETSTREAM_ZSTD_DICTIONARY"] { jetstreamZstdDictionary = v }
        if let v = try int("PDS_FEEDGEN_RETENTION") { retentionSeconds = v }
        if let v = try int("PDS_FEEDGEN_RETENTION_INTERVAL") { retentionIntervalSeconds = v }
        if let v = try int("PDS_FEEDGEN_INACTIVE_AFTER_DAYS") { inactiveAfterDays = v }
        if let v = try int("PDS_FEEDGEN_BATCH_SIZE") { batchSize = v }
        if let v = try int("PDS_FEEDGEN_BATCH_INTERVAL_MS") { batchIntervalMilliseconds = v }
        if let v = try int("PDS_FEEDGEN_MAX_ATTEMPTS") { maxAttempts = v }
        if let v = try int("PDS_FEEDGEN_MAX_EVENT_BYTES") { maxEventBytes = v }
        if let v = try int("PDS_FEEDGEN_PORT") { port = v }
        if let v = env["PDS_FEEDGEN_BIND_ADDRESS"] { bindAddress = v }
    }

    /// Refuses settings that cannot work.
    public func check() throws {
        guard batchSize >= 1, batchSize <= 10_000 else { throw FeedGenError.invalidConfig("batchSize must be 1...10000") }
        guard batchIntervalMilliseconds >= 1 else { throw FeedGenError.invalidConfig("batchIntervalMilliseconds must be positive") }
        guard retentionSeconds >= 60 else { throw FeedGenError.invalidConfig("retentionSeconds must be at least 60") }
        guard inactiveAfterDays >= 1 else { throw FeedGenError.invalidConfig("inactiveAfterDays must be at least 1") }
        guard retentionIntervalSeconds >= 1 else { throw FeedGenError.invalidConfig("retentionIntervalSeconds must be positive") }
        guard maxAttempts >= 1 else { throw FeedGenError.invalidConfig("maxAttempts must be at least 1") }
        guard maxEventBytes >= 1024 else { throw FeedGenError.invalidConfig("maxEventBytes must be at least 1024") }
        for url in jetstreamURLs where !(url.hasPrefix("ws://") || url.hasPrefix("wss://")) {
            throw FeedGenError.invalidConfig("Jetstream URL '\(url)' must start with ws:// or wss://")
        }
        if jetstreamZstdDictionary != nil {
            do {
                _ = try jetstreamDictionary()
            } catch {
                throw FeedGenError.invalidConfig("jetstreamZstdDictionary: \(error)")
            }
        }
    }

    /// The zstd dictionary of the Jetstream endpoints: the configured file,
    /// else Jetstream v1's.
    public func jetstreamDictionary() throws -> ZstdDictionary {
        guard let path = jetstreamZstdDictionary else { return JetstreamZstd.dictionary }
        return try JetstreamZstd.dictionary(file: path)
    }
}

/// Every key is optional in the file; an absent one keeps its default.
extension FeedGenConfig {
    enum CodingKeys: String, CodingKey {
        case enabled, feedGeneratorDID, serviceEndpoint, localIngest, jetstreamURLs, jetstreamRewindSeconds
        case jetstreamCompression, jetstreamZstdDictionary
        case retentionSeconds, retentionIntervalSeconds, inactiveAfterDays, batchSize, batchIntervalMilliseconds, maxAttempts
        case maxEventBytes, port, bindAddress
    }

    public init(from decoder: any Decoder) throws {
        self.init()
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func read<T: Decodable>(_ key: CodingKeys, _ value: inout T) throws {
            if let decoded = try c.decodeIfPresent(T.self, forKey: key) { value = decoded }
        }
        try read(.enabled, &enabled)
        feedGeneratorDID = try c.decodeIfPresent(String.self, forKey: .feedGeneratorDID)
        serviceEndpoint = try c.decodeIfPresent(String.self, forKey: .serviceEndpoint)
        try read(.localIngest, &localIngest)
        try read(.jetstreamURLs, &jetstreamURLs)
        try read(.jetstreamRewindSeconds, &jetstreamRewindSeconds)
        try read(.jetstreamCompression, &jetstreamCompression)
        jetstreamZstdDictionary = try c.decodeIfPresent(String.self, forKey: .jetstreamZstdDictionary)
        try read(.retentionSeconds, &retentionSeconds)
        try read(.retentionIntervalSeconds, &retentionIntervalSeconds)
        try read(.inactiveAfterDays, &inactiveAfterDays)
        try read(.batchSize, &batchSize)
        try read(.batchIntervalMilliseconds, &batchIntervalMilliseconds)
        try read(.maxAttempts, &maxAttempts)
        try read(.maxEventBytes, &maxEventBytes)
        try read(.port, &port)
        try read(.bindAddress, &bindAddress)
    }
}
