import ATProto
import Foundation
import PDSTestSupport
import Testing

@testable import PDS

/// `/metrics`, scraped as Prometheus would, after traffic whose figures
/// the test knows.
@Suite("Metrics")
struct MetricsTests {
    /// The samples of a scrape: `name{labels}` → value.
    static func samples(_ text: String) -> [String: Double] {
        var samples: [String: Double] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { continue }
            samples[String(line[..<space])] = value
        }
        return samples
    }

    @Test func aScrapeShowsWhatHappened() async throws {
        let (server, _) = try await TestServer.startWithFeedGen()
        defer { Task { await server.stop() } }
        let alice = try await server.createAccount("alice")
        for _ in 0..<3 { #expect(try await server.query("com.atproto.server.describeServer").status == 200) }
        #expect(try await server.query("com.example.made.up").status == 501)
        #expect(try await server.query("com.example.also.made.up").status == 501)
        let blob = SampleFiles.random(5_000)
        #expect(try await server.uploadBlob(blob, token: alice.accessJwt).status == 200)
        for i in 0..<2 { _ = try await server.createPost(alice, "post \(i)") }
        let socket = try RawWebSocket(port: server.port, path: "/xrpc/com.atproto.sync.subscribeRepos?cursor=0")
        #expect(try socket.readHead().status == 101)
        _ = try socket.readFrame()
        let malformed = try RawHTTPConnection(port: server.port)
        malformed.send("GET /xrpc/_health\r\n\r\n")
        _ = await malformed.readUntilClosed(timeout: 5)

        // Without the admin password: refused, and nothing is shown.
        let anonymous = try await server.request("GET", "/metrics")
        #expect(anonymous.status == 401 && !anonymous.text.contains("pds_"))
        let scrape = try await server.request("GET", "/metrics", headers: ["Authorization": TestServer.adminAuth])
        #expect(scrape.status == 200 && scrape.headers["content-type"]?.hasPrefix("text/plain") == true)
        let samples = Self.samples(scrape.text)
        #expect(samples[#"pds_xrpc_requests_total{method="com.atproto.server.describeServer",status="200"}"#] == 3, "\(scrape.text)")
        // Made-up method names share one label: they cannot grow the set.
        #expect(samples[#"pds_xrpc_requests_total{method="unregistered",status="501"}"#] == 2)
        #expect(samples[#"pds_xrpc_requests_total{method="com.atproto.repo.uploadBlob",status="200"}"#] == 1)
        #expect(samples[#"pds_xrpc_request_duration_seconds_count{method="com.atproto.server.describeServer"}"#] == 3)
        #expect(samples["pds_blob_bytes"] == Double(blob.count))
        #expect(samples["pds_firehose_consumers"] == 1)
        #expect((samples["pds_firehose_sent_bytes"] ?? 0) > 0)
        // The two posts went through the commit queue, in one group or two.
        #expect(samples["pds_commit_group_size_sum"] == 2)
        #expect(samples[#"pds_connection_events{event="malformed"}"#] == 1)
        #expect((samples["pds_connections_open"] ?? 0) >= 1)
        #expect((samples["pds_wal_bytes"] ?? 0) > 0)
        #expect(samples["pds_commit_queue_depth"] == 0)
        #expect(samples["pds_mail_outbox_depth"] == 0 && samples["pds_mail_outbox_oldest_seconds"] == 0)
        #expect(samples["feedgen_dead_letters"] == 0)
        #expect(samples["feedgen_queue_depth"] != nil && samples["feedgen_lag_seconds"] != nil)

        // Every series the Grafana dashboard in docs/ plots is one the server emits.
        let dashboard = try String(
            contentsOf: ProjectTools.root.appendingPathComponent("docs/grafana-dashboard.json"), encoding: .utf8)
        let plotted = Set(dashboard.matches(of: /(pds|feedgen)_[a-z_]+/).map { String($0.output.0) })
        #expect(plotted.count >= 10)
        let emitted = Set(samples.keys.map { String($0.prefix { $0 != "{" }) })
        for name in plotted {
            #expect(emitted.contains(name), "the dashboard plots \(name), which /metrics does not show")
        }
    }
}
