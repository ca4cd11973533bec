import Foundation
import Hummingbird

/// `GET /metrics`: ``ServerMetrics`` in Prometheus's text format, behind
/// the admin password (HTTP basic auth, throttled like the admin methods).
/// The figures that are states rather than events are read here, at each
/// scrape.
enum MetricsEndpoint {
    static func register(on router: Router<PDSRequestContext>, services: PDSServices, extensions: [PDSExtension]) {
        router.get("/metrics") { request, context in
            do {
                try services.requireAdmin(
                    authorization: request.headers[.authorization], address: context.clientAddress(of: request, config: services.config),
                    what: "/metrics")
            } catch let error as XRPCError {
                return XRPCMethods.response(for: error)
            }
            await refresh(services, extensions: extensions)
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(string: services.metrics.exposition())))
        }
    }

    /// Sets the gauges read at scrape time.
    static func refresh(_ services: PDSServices, extensions: [PDSExtension]) async {
        let metrics = services.metrics
        metrics.set("pds_commit_queue_depth", Double(services.commits.depth), help: "Commits waiting for the writer")
        let walPath = services.config.dataDirectory + "/pds.sqlite-wal"
        let walBytes = (try? FileManager.default.attributesOfItem(atPath: walPath)[.size] as? Int) ?? 0
        metrics.set("pds_wal_bytes", Double(walBytes), help: "Size of the service database's write-ahead log")
        metrics.set("pds_wal_checkpoint_passes", Double(services.checkpointer.passCount), help: "Checkpoint passes since start")
        metrics.set("pds_firehose_consumers", Double(services.firehose.connectionCount), help: "Open subscribeRepos connections")
        metrics.set(
            "pds_firehose_sent_bytes", Double(services.firehoseBytesSent.value), help: "Bytes handed to subscribeRepos consumers since start")
        metrics.set("pds_connections_open", Double(services.connectionGuard.registry.open()), help: "Open HTTP connections")
        for (event, count) in services.connectionGuard.events.counts() {
            metrics.set(
                "pds_connection_events", Double(count), help: "Connections refused or closed by the guard since start, by cause",
                labels: [("event", "\(event)")])
        }
        if let bytes = try? await BlobTracking.storedBytes(services.pool) {
            metrics.set("pds_blob_bytes", Double(bytes), help: "Bytes of the blobs stored (each blob once)")
        }
        let now = Int(Date().timeIntervalSince1970)
        if let backlog = try? await services.storage.read({ tx in try MailOutbox.backlog(now: now, in: tx) }) {
            metrics.set("pds_mail_outbox_depth", Double(backlog.count), help: "Messages waiting for the SMTP server")
            metrics.set("pds_mail_outbox_oldest_seconds", Double(backlog.oldestAge), help: "Age of the oldest message waiting for the SMTP server")
        }
        for plugin in extensions {
            for sample in await plugin.metrics() { metrics.set(sample.name, sample.value, help: sample.help) }
        }
    }
}
