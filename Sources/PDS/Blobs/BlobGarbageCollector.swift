import ATProto
import Foundation
import Logging
import ServiceLifecycle
import ServiceStorage

/// Deletes blobs nobody needs: an account's uploaded blob that no record of
/// that account references (no `blob_usage` row) and that is older than the
/// grace period loses its `blob_ref` row, and its file is deleted once no
/// account holds the CID any more. Also removes uploads abandoned in the
/// temporary directory.
///
/// As a ``Service`` it runs every ``interval`` while the server runs
/// (``PDSServer/application(services:onListening:)`` adds it).
public struct BlobGarbageCollector: Service {
    /// One `blob_ref` row deleted.
    public struct Deletion: Sendable, Equatable {
        public let did: DID
        public let cid: CID
    }

    /// What one pass did.
    public struct Report: Sendable {
        /// The rows deleted.
        public var deleted: [Deletion] = []
        /// The blobs whose file was deleted (no account holds them any more).
        public var filesDeleted: [CID] = []
        /// Abandoned temporary uploads removed.
        public var temporaryFilesRemoved = 0
    }

    let services: PDSServices
    /// Seconds an unreferenced blob is kept (so a client can upload, then
    /// write the record that references it).
    public let gracePeriod: Int
    /// Time between passes of ``run()``.
    public let interval: Duration

    /// A temporary upload older than this (seconds) was abandoned.
    static let abandonedUploadAge = 24 * 3600
    /// Rows examined per query.
    static let batchSize = 500

    /// - Parameters:
    ///   - gracePeriod: seconds; defaults to `config.blobGracePeriod`.
    ///   - interval: time between passes; defaults to ten minutes.
    public init(services: PDSServices, gracePeriod: Int? = nil, interval: Duration = .seconds(600)) {
        self.services = services
        self.gracePeriod = gracePeriod ?? services.config.blobGracePeriod
        self.interval = interval
    }

    /// One pass, as if the time were `now`.
    @discardableResult
    public func runOnce(now: Date = Date()) async throws -> Report {
        let cutoff = Int(now.timeIntervalSince1970) - gracePeriod
        var report = Report()
        while true {
            let candidates = try await services.storage.read { tx in
                try BlobRefStore.collectable(atOrBefore: cutoff, limit: BlobGarbageCollector.batchSize, in: tx)
            }
            if candidates.isEmpty { break }
            for row in candidates {
                try await collect(did: row.did, cid: row.cid, cutoff: cutoff, report: &report)
            }
        }
        report.temporaryFilesRemoved = removeAbandonedUploads(now: now)
        if !report.deleted.isEmpty || report.temporaryFilesRemoved > 0 {
            services.logger.info(
                "blob garbage collection",
                metadata: [
                    "deleted": .array(report.deleted.map { .string("\($0.did) \($0.cid)") }),
                    "filesDeleted": .stringConvertible(report.filesDeleted.count),
                    "temporaryFilesRemoved": .stringConvertible(report.temporaryFilesRemoved),
                ])
        }
        return report
    }

    /// Deletes one row if it is still unreferenced and old, then the file if
    /// no account holds the CID; under the blob's lock, so an upload of the
    /// same bytes cannot slip in between.
    private func collect(did: DID, cid: CID, cutoff: Int, report: inout Report) async throws {
        let services = self.services
        let (deleted, held) = try await services.blobLock.withLock(cid) {
            let outcome = try await services.storage.write { tx -> (Bool, Bool) in
                let deleted = try BlobRefStore.deleteIfCollectable(did: did, cid: cid, cutoff: cutoff, in: tx)
                return (deleted, try BlobRefStore.isHeld(cid: cid, in: tx))
            }
            if outcome.0, !outcome.1 {
                do {
                    try await services.blobStore.delete(cid)
                } catch {
                    services.logger.error("cannot delete blob file", metadata: ["cid": .string(cid.string), "error": "\(error)"])
                }
            }
            return outcome
        }
        if deleted { report.deleted.append(Deletion(did: did, cid: cid)) }
        if deleted && !held { report.filesDeleted.append(cid) }
    }

    /// Removes temporary uploads older than ``abandonedUploadAge``.
    private func removeAbandonedUploads(now: Date) -> Int {
        let directory = services.blobStore.temporaryDirectory
        let manager = FileManager.default
        guard let names = try? manager.contentsOfDirectory(atPath: directory.path) else { return 0 }
        var removed = 0
        for name in names {
            let url = directory.appendingPathComponent(name)
            guard let modified = (try? manager.attributesOfItem(atPath: url.path))?[.modificationDate] as? Date,
                now.timeIntervalSince(modified) > Double(BlobGarbageCollector.abandonedUploadAge)
            else { continue }
            if (try? manager.removeItem(at: url)) != nil { removed += 1 }
        }
        return removed
    }

    /// Runs a pass every ``interval`` until the server shuts down. A failed
    /// pass is logged and the next one tried.
    public func run() async throws {
        while true {
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            } catch {
                return  // shutting down
            }
            do {
                try await runOnce()
            } catch {
                services.logger.error("blob garbage collection failed", metadata: ["error": "\(error)"])
            }
        }
    }
}
