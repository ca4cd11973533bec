import ATProto
import ArgumentParser
import Atrarium
import FeedGen
import Foundation
#if canImport(Glibc)
    import Glibc
#endif
import Hummingbird
import Logging
import PDS
import Repo
import Sequencer
import ServiceStorage

/// `pds feedgen …`: the Atrarium feed generator on its own.
struct FeedGenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "feedgen", abstract: "The Atrarium community feed generator.",
        subcommands: [FeedGenServeCommand.self, FeedGenRebuildCommand.self])
}

/// The settings both subcommands read.
struct FeedGenOptions: ParsableArguments {
    @Option(help: "A JSON config file (its `feedgen` object; see docs/CONFIG.md).") var config: String?
    @Option(help: "Data directory (overrides the config).") var dataDir: String?

    func load() throws -> (pds: PDSConfig, feed: FeedGenConfig) {
        var pds = try PDSConfig.load(file: config)
        if let dataDir { pds.dataDirectory = dataDir }
        return (pds, try FeedGenConfig.load(file: config))
    }
}

/// `pds feedgen serve`: the feed generator alone, fed by Jetstream.
struct FeedGenServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the feed generator alone (Jetstream ingest only, its own HTTP server and database).")

    @OptionGroup var options: FeedGenOptions
    @Option(help: "Port to listen on (overrides the config).") var port: Int?

    func run() async throws {
        LoggingSystem.bootstrap { JSONLogHandler(label: $0) }
        signal(SIGPIPE, SIG_IGN)
        var (pds, feed) = try options.load()
        if let port { feed.port = port }
        let logger = Logger(label: "feedgen")
        if feed.jetstreamURLs.isEmpty {
            logger.warning("feedgen: no Jetstream endpoint configured (PDS_FEEDGEN_JETSTREAM); nothing will be indexed")
        }
        // Service tokens are checked against the issuers' DID documents.
        let generator = try FeedGenerator(
            config: feed, dataDirectory: pds.dataDirectory, did: try DID(feed.feedGeneratorDID ?? pds.resolvedServiceDID),
            serviceEndpoint: feed.serviceEndpoint ?? "http://\(feed.bindAddress):\(feed.port)",
            keyResolver: DIDDocumentKeyResolver(config: pds), logger: logger)
        let app = FeedGenHTTPServer.application(generator: generator) { port in
            logger.info("feedgen: listening", metadata: ["port": "\(port)", "did": .string(generator.did.string)])
        }
        try await app.runService()
    }
}

/// `pds feedgen rebuild`: empties the index and replays the local log
/// from its start; Jetstream sources start again from `--jetstream-cursor`.
struct FeedGenRebuildCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rebuild",
        abstract: "Empty the feed index and replay the local event log from cursor 0 (stop the server first).")

    @OptionGroup var options: FeedGenOptions
    @Option(help: "Jetstream cursor (unix microseconds) the next `serve` resumes the configured endpoints from.")
    var jetstreamCursor: Int64?

    func run() async throws {
        let (pds, feed) = try options.load()
        var logger = Logger(label: "feedgen")
        logger.logLevel = .warning
        let generator = try FeedGenerator(
            config: feed, dataDirectory: pds.dataDirectory, did: try DID(feed.feedGeneratorDID ?? pds.resolvedServiceDID),
            serviceEndpoint: feed.serviceEndpoint ?? pds.resolvedPublicURL, keyResolver: nil, logger: logger)
        try await generator.resetForRebuild()
        let servicePath = pds.dataDirectory + "/pds.sqlite"
        var replayed = 0
        if FileManager.default.fileExists(atPath: servicePath) {
            let pool = try ServiceDatabase.open(path: servicePath)
            let source = LocalSequencerSource(
                reader: pool, hub: nil, buffer: generator.buffer, filter: generator.filter, queue: generator.queue,
                logger: logger, maxEventBytes: feed.maxEventBytes)
            replayed = try await source.replayAll()
        }
        if let jetstreamCursor {
            for endpoint in feed.jetstreamURLs {
                try await generator.queue.enqueue([], source: JetstreamClient.sourceName(endpoint), cursor: jetstreamCursor)
            }
        }
        try await generator.processQueued()
        let (queued, dead) = try await generator.queue.counts()
        let description = try await generator.describeFeedGenerator()
        print("replayed \(replayed) log events; \(description["feeds"]?.arrayValue?.count ?? 0) communities; queue \(queued), dead letters \(dead)")
        if jetstreamCursor != nil { print("Jetstream endpoints resume from cursor \(jetstreamCursor!) at the next serve") }
    }
}
