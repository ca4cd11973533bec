import ATProto
import Foundation
import GRDB
import Repo
import Sequencer
import ServiceStorage
import Synchronization
import Testing

/// The hub's live delivery of the log to its sinks.
@Suite("Sequencer hub")
struct SequencerHubTests {
    /// Keeps every event handed to it.
    final class CollectingSink: SequencerSink {
        let seqs = Mutex<[Int64]>([])

        func deliver(_ events: [SequencedEvent]) {
            seqs.withLock { $0 += events.map(\.seq) }
        }
    }

    @Test func notificationsFromConcurrentWritersLoseNoEvent() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hub-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let pool = try ServiceDatabase.open(path: directory.appendingPathComponent("pds.sqlite").path)
        let sink = CollectingSink()
        let hub = try SequencerHub(reader: pool, sinks: [sink])

        // Bursts of commits from four writers, each notifying after its
        // commit as the server's writes do; the last notifications of a
        // burst land while a pump is reading, and nothing comes later to
        // deliver what they announce if they are lost.
        let writers = 4, perWriter = 10, bursts = 30
        var total = 0
        for burst in 0..<bursts {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for writer in 0..<writers {
                    group.addTask {
                        for n in 0..<perWriter {
                            try await pool.write { db in
                                let body: DataMap = ["burst": .int(Int64(burst)), "n": .int(Int64(n))]
                                try Sequencer.append(SequencerEvent(type: "#identity", did: try DID("did:plc:writer\(writer)"), body: body), db: db)
                            }
                            hub.notify()
                        }
                    }
                }
                try await group.waitForAll()
            }
            total += writers * perWriter
            let deadline = ContinuousClock.now + .seconds(5)
            while sink.seqs.withLock({ $0.count }) < total && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(1))
            }
            let delivered = sink.seqs.withLock { $0 }
            try #require(delivered == Array(1...Int64(total)), "burst \(burst): every event once, in seq order")
        }
    }
}
