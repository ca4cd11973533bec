import ATProto
import Foundation
import GRDB
import JetstreamCompression
import Logging
import ServiceStorage

/// The Atrarium feed generator: its database, the ingest pipeline (cheap
/// filter → buffer → durable queue → processor → community index), the
/// feed API, and the background work. Used inside `pds serve` (through the
/// `Atrarium` target) and alone by `pds feedgen serve`.
public final class FeedGenerator: Sendable {
    public let config: FeedGenConfig
    /// The feed generator's DID (`aud` of service tokens).
    public let did: DID
    /// Where the feed generator is reached (`#bsky_fg` endpoint).
    public let serviceEndpoint: String
    public let pool: DatabasePool
    public let queue: IngestQueue
    public let filter: CandidateFilter
    public let directory: CommunityDirectory
    public let indexer: EventIndexer
    public let processor: QueueProcessor
    public let buffer: IngestBuffer
    public let skeletons: FeedSkeletonQuery
    /// The community index's reads for other targets (the dashboard API,
    /// the benchmark), so they need not know its tables.
    public let index: CommunityIndexStore
    /// Verifies service tokens; nil when no key resolver is configured
    /// (tokens are then not checked).
    public let auth: ServiceAuthVerifier?
    public let logger: Logger

    /// The record key of a community's `app.bsky.feed.generator` record.
    /// `atrarium-<id>`: letters, digits and a hyphen, always a record key.
    public static func feedRecordKey(communityID: String) -> RecordKey { RecordKey(unchecked: "atrarium-" + communityID) }

    /// Opens (creating on first start) `<dataDirectory>/feedgen.sqlite`.
    public init(
        config: FeedGenConfig, dataDirectory: String, did: DID, serviceEndpoint: String,
        keyResolver: (any SigningKeyResolver)?, logger: Logger
    ) throws {
        self.config = config
        self.did = did
        self.serviceEndpoint = serviceEndpoint
        self.logger = logger
        try FileManager.default.createDirectory(atPath: dataDirectory, withIntermediateDirectories: true)
        pool = try FeedGenDatabase.open(path: dataDirectory + "/" + FeedGenDatabase.fileName)
        queue = IngestQueue(pool: pool)
        filter = CandidateFilter()
        directory = CommunityDirectory(pool: pool)
        indexer = EventIndexer(pool: pool, directory: directory, logger: logger)
        let processor = QueueProcessor(queue: queue, indexer: indexer, config: config, logger: logger)
        self.processor = processor
        buffer = IngestBuffer(queue: queue, logger: logger) { processor.notify() }
        skeletons = FeedSkeletonQuery(reader: pool)
        index = CommunityIndexStore(pool: pool)
        auth = keyResolver.map { ServiceAuthVerifier(resolver: $0, audience: did.string) }
    }

    /// Makes the accounts already involved in the index known to the cheap
    /// filter, so their deletes and takedowns pass it after a restart.
    public func loadKnownAccounts() async throws {
        let dids = try await pool.read { db in
            try DID.fetchAll(
                db,
                sql: """
                    SELECT did FROM community_member UNION SELECT author_did FROM community_post
                    UNION SELECT member_did FROM membership_claim UNION SELECT owner_did FROM community
                    UNION SELECT author_did FROM moderation_action UNION SELECT approver_did FROM membership_approval
                    """)
        }
        filter.remember(dids)
    }

    // MARK: - Feed API

    /// `app.bsky.feed.getFeedSkeleton` with its raw parameters and the
    /// `Authorization` header, as `{feed: [{post}], cursor?}`.
    public func getFeedSkeleton(feed: String?, limit: String?, cursor: String?, authorization: String?) async throws -> DataValue {
        if let authorization {
            guard authorization.hasPrefix("Bearer ") else { throw FeedGenError.invalidToken("Authorization must be a Bearer service token") }
            if let auth { _ = try await auth.verify(String(authorization.dropFirst("Bearer ".count))) }
        }
        guard let feed, !feed.isEmpty else { throw FeedGenError.invalidRequest("Error: Params must have the property \"feed\"") }
        var pageSize = 50
        if let limit {
            guard let n = Int(limit), (1...100).contains(n) else {
                throw FeedGenError.invalidRequest("Error: limit must be an integer between 1 and 100")
            }
            pageSize = n
        }
        let id = try await communityID(forFeed: feed)
        let page: FeedPage
        do {
            page = try await skeletons.page(community: id, limit: pageSize, cursor: cursor.flatMap { $0.isEmpty ? nil : $0 })
        } catch FeedGenError.unknownFeed {
            throw FeedGenError.unknownFeed(feed)
        }
        var body: DataMap = ["feed": .array(page.items.map { ["post": .string($0.uri)] })]
        if let next = page.cursor { body["cursor"] = .string(next) }
        return .map(body)
    }

    /// The community a feed URI names: `at://<publisher>/app.bsky.feed.generator/atrarium-<id>`,
    /// published by the community's owner or by this feed generator.
    public func communityID(forFeed feed: String) async throws -> String {
        guard let uri = try? ATURI(feed), uri.collection?.string == "app.bsky.feed.generator", let rkey = uri.recordKey?.string,
            rkey.hasPrefix("atrarium-"), CommunityHashtag.isValidID(rkey.dropFirst("atrarium-".count))
        else { throw FeedGenError.unknownFeed(feed) }
        let id = String(rkey.dropFirst("atrarium-".count))
        let publisher = uri.authority.string
        let owner = try await pool.read { db in try String.fetchOne(db, sql: "SELECT owner_did FROM community WHERE id = ?", arguments: [id]) }
        guard let owner, publisher == owner || publisher == did.string else { throw FeedGenError.unknownFeed(feed) }
        return id
    }

    /// The feed URI of a community (published in its owner's repository).
    public static func feedURI(communityID: String, owner: DID) -> String {
        ATURI(
            authority: .did(owner), collection: AtrariumRecords.feedGenerator,
            recordKey: feedRecordKey(communityID: communityID)
        ).string
    }

    /// `app.bsky.feed.describeFeedGenerator`: `{did, feeds: [{uri}]}`.
    public func describeFeedGenerator() async throws -> DataValue {
        // A community without posts for `inactiveAfterDays` is listed as
        // such (an extra field of the feed's entry, which clients ignore).
        let quietSince = (Int64(Date().timeIntervalSince1970) - Int64(config.inactiveAfterDays) * 86_400) * 1000
        let rows = try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT id, owner_did, COALESCE(last_post_at, indexed_at) AS active_at FROM community ORDER BY id").map {
                ($0["id"] as String, $0["owner_did"] as DID, ($0["active_at"] as Int64) < quietSince)
            }
        }
        return [
            "did": .string(did.string),
            "feeds": .array(
                rows.map { id, owner, inactive in
                    var feed: DataMap = ["uri": .string(Self.feedURI(communityID: id, owner: owner))]
                    if inactive { feed["inactive"] = true }
                    return .map(feed)
                }),
        ]
    }

    /// The feed generator's entry of the `service` list of its DID document.
    public var didDocumentService: DataValue {
        ["id": "#bsky_fg", "type": "BskyFeedGenerator", "serviceEndpoint": .string(serviceEndpoint)]
    }

    // MARK: - Background work

    /// Runs the queue processor, the retention job and the Jetstream
    /// clients (and `local`, the PDS's own log, when given) until cancelled.
    public func run(local: LocalSequencerSource? = nil, jetstreamBackoff: Duration = .seconds(1)) async {
        do {
            try await loadKnownAccounts()
        } catch {
            logger.error("feedgen: could not read the known accounts", metadata: ["error": "\(error)"])
        }
        logger.info(
            "feedgen: started",
            metadata: [
                "did": .string(did.string), "jetstream": "\(config.jetstreamURLs)", "local": "\(local != nil)",
                "retentionSeconds": "\(config.retentionSeconds)",
            ])
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.processor.run() }
            group.addTask { await self.runRetention() }
            if let local {
                group.addTask {
                    while !Task.isCancelled {
                        do {
                            try await local.run()
                        } catch {
                            if Task.isCancelled { break }
                            self.logger.error("feedgen: local ingest failed; restarting", metadata: ["error": "\(error)"])
                            try? await Task.sleep(for: .seconds(1))
                        }
                    }
                }
            }
            let decompressor = jetstreamDecompressor()
            for endpoint in config.jetstreamURLs {
                let client = JetstreamClient(
                    endpoint: endpoint, reader: JetstreamMessageReader(filter: filter, maxEventBytes: config.maxEventBytes),
                    buffer: buffer, queue: queue, rewindSeconds: config.jetstreamRewindSeconds, decompressor: decompressor,
                    initialBackoff: jetstreamBackoff, logger: logger)
                group.addTask { await client.run() }
            }
            await group.waitForAll()
        }
        await buffer.drain()
    }

    /// What decompresses Jetstream messages when compression is on. A
    /// dictionary that cannot be read leaves the connections uncompressed
    /// (compression saves bandwidth; it must never stop the ingest).
    func jetstreamDecompressor() -> ZstdDecompressor? {
        guard config.jetstreamCompression, !config.jetstreamURLs.isEmpty else { return nil }
        do {
            return ZstdDecompressor(dictionary: try config.jetstreamDictionary())
        } catch {
            logger.error("feedgen: Jetstream compression is off: \(error)")
            return nil
        }
    }

    /// Deletes indexed posts older than the retention period.
    /// - Returns: how many were deleted.
    @discardableResult
    public func applyRetention(now: Date = Date()) async throws -> Int {
        let cutoff = IngestQueue.milliseconds(now) - Int64(config.retentionSeconds) * 1000
        let removed = try await pool.write { db in
            try db.execute(sql: "DELETE FROM community_post WHERE created_at < ?", arguments: [cutoff])
            let posts = db.changesCount
            try db.execute(sql: "DELETE FROM record_tombstone WHERE deleted_at < ?", arguments: [cutoff])
            return posts
        }
        logger.info("feedgen: retention ran", metadata: ["removedPosts": "\(removed)", "retentionSeconds": "\(config.retentionSeconds)"])
        return removed
    }

    private func runRetention() async {
        logger.info("feedgen: retention job scheduled", metadata: ["everySeconds": "\(config.retentionIntervalSeconds)"])
        while !Task.isCancelled {
            do {
                try await applyRetention()
            } catch {
                logger.error("feedgen: retention failed", metadata: ["error": "\(error)"])
            }
            try? await Task.sleep(for: .seconds(config.retentionIntervalSeconds))
        }
    }

    /// Empties the index, the queue and every cursor, so the sources
    /// replay from the start (`pds feedgen rebuild`).
    public func resetForRebuild() async throws {
        try await pool.write { db in
            for table in [
                "community_post", "community_member", "community_hidden_post", "community_blocked_user", "community",
                "membership_claim", "membership_approval", "moderation_action", "record_tombstone", "ingest_queue", "ingest_cursor",
            ] {
                try db.execute(sql: "DELETE FROM \(table)")
            }
        }
        await directory.forgetAll()
    }

    /// Processes everything queued now (for the rebuild command and tests).
    public func processQueued() async throws {
        await buffer.drain()
        while try await processor.processBatch() > 0 {}
    }
}
