import ATProto
import Foundation
import PDSTestSupport
import TestSupport
import Hummingbird
import Synchronization
import Testing

@testable import PDS

/// The relay crawl notifier against a fake relay on a loopback port.
@Suite("requestCrawl")
struct RequestCrawlTests {
    /// A relay double that records what it is asked and refuses the first request.
    final class FakeRelay: Sendable {
        /// The bodies received, in order.
        final class Recorder: Sendable {
            let bodies = Mutex<[String]>([])
        }

        let recorder = Recorder()
        let port: Int
        let task: Task<Void, any Error>

        init() async throws {
            let port = try freePort()
            self.port = port
            let router = Router()
            let recorder = self.recorder
            router.post("/xrpc/com.atproto.sync.requestCrawl") { request, _ -> Response in
                let body = try await request.body.collect(upTo: 4096)
                let count = recorder.bodies.withLock {
                    $0.append(String(buffer: body))
                    return $0.count
                }
                return Response(status: count == 1 ? .internalServerError : .ok)
            }
            let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)))
            task = Task.detached { try await app.run() }
            try await Task.sleep(for: .milliseconds(300))
        }

        func stop() {
            task.cancel()
        }
    }

    @Test func relaysAreAskedToCrawlAndFailuresRetried() async throws {
        let relay = try await FakeRelay()
        defer { relay.stop() }
        let server = try await TestServer.start {
            $0.crawlers = ["http://127.0.0.1:\(relay.port)"]
            $0.crawlInterval = 1
            $0.hostname = "pds.example.com"
        }
        defer { Task { await server.stop() } }
        // The first request is refused (500); the notifier retries after a backoff.
        let deadline = ContinuousClock.now + .seconds(15)
        while relay.recorder.bodies.withLock({ $0.count }) < 2 && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(100))
        }
        let seen = relay.recorder.bodies.withLock { $0 }
        #expect(seen.count >= 2, "requests: \(seen)")
        for body in seen {
            let value = try ATProtoJSON.decode(body, mode: .lenient)
            #expect(value["hostname"]?.stringValue == "pds.example.com")
        }
    }
}
