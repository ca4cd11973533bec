import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

/// Asks the configured relays to crawl this server
/// (`POST <relay>/xrpc/com.atproto.sync.requestCrawl {hostname}`): at start,
/// then every `crawlInterval`, and on the first write after a quiet spell of
/// that length, so a relay that dropped an idle connection comes back. A
/// failed request is retried with a per-relay backoff that doubles up to an
/// hour. Every outcome is logged.
public struct RelayCrawlNotifier: Service {
    let services: PDSServices

    public init(services: PDSServices) {
        self.services = services
    }

    struct RelayState {
        var nextAttempt: ContinuousClock.Instant
        var lastSuccess: ContinuousClock.Instant?
        var failures = 0
    }

    public func run() async throws {
        let relays = services.config.crawlers
        // A service that returns shuts the whole server down: with nothing to
        // do, wait for the shutdown instead.
        guard !relays.isEmpty else {
            try? await gracefulShutdown()
            return
        }
        let interval = Duration.seconds(max(1, services.config.crawlInterval))
        let tick = min(interval / 4, .seconds(30))
        let clock = ContinuousClock()
        var states = Dictionary(uniqueKeysWithValues: relays.map { ($0, RelayState(nextAttempt: clock.now)) })
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        while !Task.isCancelled {
            let now = clock.now
            let wrote = services.crawlActivity.takeWrite()
            for relay in relays {
                guard var state = states[relay] else { continue }
                let quiet = state.lastSuccess.map { now - $0 >= interval } ?? true
                guard now >= state.nextAttempt || (wrote && quiet) else { continue }
                do {
                    try await request(relay, client: client)
                    state.failures = 0
                    state.lastSuccess = now
                    state.nextAttempt = now + interval
                    services.logger.info("requestCrawl accepted", metadata: ["relay": .string(relay)])
                } catch {
                    state.failures += 1
                    let backoff = min(Duration.seconds(3600), tick * (1 << min(state.failures, 10)))
                    state.nextAttempt = now + backoff
                    services.logger.warning(
                        "requestCrawl failed; will retry",
                        metadata: ["relay": .string(relay), "error": "\(error)", "retryInSeconds": "\(backoff.components.seconds)"])
                }
                states[relay] = state
            }
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: tick) }
            } catch {
                break  // shutting down
            }
        }
        try? await client.shutdown()
    }

    /// One `requestCrawl` to `relay` (a base URL such as `https://bsky.network`).
    func request(_ relay: String, client: HTTPClient) async throws {
        try await Self.requestCrawl(relay, hostname: services.config.hostname, client: client)
    }

    /// Asks `relay` (a base URL; `https://` is added when it names no
    /// scheme, as pdsadmin does) to crawl `hostname`, as
    /// `pds request-crawl` does by hand.
    /// - Throws: the relay's refusal (``RelayError``) or the HTTP failure.
    public static func requestCrawl(_ relay: String, hostname: String, client: HTTPClient) async throws {
        var base = relay.contains("://") ? relay : "https://" + relay
        while base.hasSuffix("/") { base.removeLast() }
        var request = HTTPClientRequest(url: base + "/xrpc/com.atproto.sync.requestCrawl")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        let body = try JSONEncoder().encode(["hostname": hostname])
        request.body = .bytes(ByteBuffer(bytes: body))
        let response = try await client.execute(request, timeout: .seconds(30))
        let reply = try await response.body.collect(upTo: 64 * 1024)
        guard response.status.code == 200 else {
            throw RelayError(status: Int(response.status.code), body: String(buffer: reply).prefix(200).description)
        }
    }

    /// A relay's refusal.
    struct RelayError: Error, CustomStringConvertible {
        let status: Int
        let body: String
        var description: String { "the relay answered \(status): \(body)" }
    }
}

/// Whether the repositories changed since the crawl notifier last looked.
public final class CrawlActivity: Sendable {
    private let wrote = Atomic<Bool>(false)

    public init() {}

    /// A commit was stored.
    public func noteWrite() { wrote.store(true, ordering: .relaxed) }

    /// Whether a commit was stored since the last call.
    func takeWrite() -> Bool { wrote.exchange(false, ordering: .relaxed) }
}
