import ATProto
import FeedGen
import Foundation
import HTTPTypes
import Logging
import PDS

/// Plugs the Atrarium feed generator into `pds serve`: its XRPC methods
/// (`getFeedSkeleton`, `describeFeedGenerator`), its background work (queue,
/// retention, Jetstream, and the PDS's own event log read in-process), and
/// the `#bsky_fg` entry of the service's DID document, and the dashboard
/// API under `/api` (``DashboardAPI``).
public enum AtrariumExtension {
    /// The feed generator for `services` and the extension that serves it.
    /// `keyResolver` verifies service tokens; by default the keys of this
    /// PDS's own accounts, then DID resolution (``IdentityKeyResolver``).
    public static func make(
        services: PDSServices, config: FeedGenConfig, keyResolver: (any SigningKeyResolver)? = nil,
        dashboard: DashboardConfig = DashboardConfig()
    ) throws -> (extension: PDSExtension, generator: FeedGenerator) {
        let resolver = keyResolver ?? IdentityKeyResolver(accounts: services.accounts, dids: services.identity.dids)
        let generator = try FeedGenerator(
            config: config, dataDirectory: services.config.dataDirectory,
            did: try DID(config.feedGeneratorDID ?? services.config.resolvedServiceDID),
            serviceEndpoint: config.serviceEndpoint ?? services.config.resolvedPublicURL,
            keyResolver: resolver, logger: services.logger)
        let local = config.localIngest
            ? LocalSequencerSource(
                reader: services.pool, hub: services.sequencer, buffer: generator.buffer, filter: generator.filter,
                queue: generator.queue, logger: services.logger, maxEventBytes: config.maxEventBytes)
            : nil
        // Built here, not when the routes are added, so that a broken page
        // template stops the server at start.
        let api = dashboard.enabled ? DashboardAPI(services: services, generator: generator, config: dashboard, keyResolver: resolver) : nil
        let pages = try api.map { try DashboardPages(api: $0) }
        let plugin = PDSExtension(
            methods: { methods in
                methods.query("app.bsky.feed.getFeedSkeleton") { call in
                    try await answer {
                        try await generator.getFeedSkeleton(
                            feed: call.param("feed"), limit: call.param("limit"), cursor: call.param("cursor"),
                            authorization: call.request.headers[.authorization])
                    }
                }
                methods.query("app.bsky.feed.describeFeedGenerator") { _ in
                    try await answer { try await generator.describeFeedGenerator() }
                }
            },
            routes: { router in
                guard let api, let pages else { return }
                api.register(on: router)
                pages.register(on: router)
            },
            backgroundServices: [FeedGenBackgroundService(generator: generator, local: local)],
            didDocumentServices: [generator.didDocumentService],
            // The hashtag's form and feedMix's sum, which the Lexicon cannot
            // state: checked at write time as the index checks them.
            recordChecks: [
                AtrariumRecords.config: { record in
                    do throws(FeedGenError) {
                        _ = try AtrariumRecords.checkConfig(record)
                        return nil
                    } catch {
                        return error.message
                    }
                }
            ],
            metrics: { await Self.metrics(of: generator) })
        return (plugin, generator)
    }

    /// The feed generator's figures for `/metrics`: its durable queue, its
    /// dead letters, and its lag (how long the oldest waiting event has
    /// waited; 0 when none waits).
    static func metrics(of generator: FeedGenerator) async -> [MetricSample] {
        guard let counts = try? await generator.queue.counts() else { return [] }
        let oldest = (try? await generator.queue.oldestEnqueuedAt()) ?? nil
        let lag = oldest.map { max(0, Date().timeIntervalSince1970 - Double($0) / 1000) } ?? 0
        return [
            MetricSample(name: "feedgen_queue_depth", help: "Events waiting in the feed generator's queue", value: Double(counts.queued)),
            MetricSample(name: "feedgen_dead_letters", help: "Events the feed generator gave up on", value: Double(counts.deadLetters)),
            MetricSample(name: "feedgen_lag_seconds", help: "Age of the oldest event waiting in the queue", value: lag),
        ]
    }

    /// Runs `body`, turning a feed generator error into its XRPC error.
    static func answer(_ body: () async throws -> DataValue) async throws -> XRPCResult {
        do {
            return .json(try await body())
        } catch let error as FeedGenError {
            throw XRPCError(HTTPResponse.Status(code: error.status), error.name, error.message)
        }
    }
}
