import ArgumentParser
import AsyncHTTPClient
import Foundation
import PDS

/// `pds request-crawl [RELAY[,RELAY]]`: asks relays to crawl this server
/// now, as pdsadmin's `request-crawl` does (the server also does it by
/// itself, at start and every `crawlInterval`).
struct RequestCrawlCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "request-crawl",
        abstract: "Ask relays to crawl this server (default: the configured crawlers, PDS_CRAWLERS).")

    @Option(help: "A JSON config file (as for `pds serve`).") var config: String?
    @Argument(help: "Relays, comma-separated (https:// is added when no scheme is given).") var relays: String?

    func run() async throws {
        let settings = try PDSConfig.load(file: config)
        let targets = relays.map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } } ?? settings.crawlers
        guard !targets.isEmpty else {
            FileHandle.standardError.write(Data("error: no relay given and none configured (PDS_CRAWLERS)\n".utf8))
            throw ExitCode.failure
        }
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        var failed = false
        for relay in targets where !relay.isEmpty {
            do {
                try await RelayCrawlNotifier.requestCrawl(relay, hostname: settings.hostname, client: client)
                print("\(relay): requestCrawl for \(settings.hostname) accepted")
            } catch {
                FileHandle.standardError.write(Data("\(relay): \(error)\n".utf8))
                failed = true
            }
        }
        try await client.shutdown()
        if failed { throw ExitCode.failure }
    }
}
