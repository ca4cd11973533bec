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

    /// Pumps waiting for a reader connection must not hold threads of the
    /// cooperative pool. The suite once hung with both pool threads (2 on
    /// this machine) blocked in two servers' pumps, in synchronous reads
    /// waiting for readers that only async reads needing a pool thread
    /// would give back.
    @Test func pumpsWaitingForAReaderLeaveTheCooperativePoolFree() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hub-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("pds.sqlite").path
        let writer = try ServiceDatabase.open(path: path)
        var configuration = Configuration()
        configuration.maximumReaderCount = 1
        let reader = try DatabasePool(path: path, configuration: configuration)
        let sinks = (0..<8).map { _ in CollectingSink() }
        let hubs = try sinks.map { try SequencerHub(reader: reader, sinks: [$0]) }
        try await writer.write { db in
            try Sequencer.append(SequencerEvent(type: "#identity", did: try DID("did:plc:held"), body: [:]), db: db)
        }

        // The only reader connection is held on a thread of our own until
        // released: by the test, or by the watchdog after 30 s.
        let release = DispatchSemaphore(value: 0)
        let released = Atomic<Bool>(false)
        let releaseOnce: @Sendable () -> Void = { if !released.exchange(true, ordering: .acquiringAndReleasing) { release.signal() } }
        await withCheckedContinuation { (held: CheckedContinuation<Void, Never>) in
            Thread {
                try? reader.read { _ in
                    held.resume()
                    release.wait()
                }
            }.start()
        }
        Thread {
            Thread.sleep(forTimeInterval: 30)
            releaseOnce()
        }.start()

        // Eight pumps now wait for that reader. A task started after them
        // runs while they still wait: they hold no thread. (Blocked, they
        // held both of the pool's threads, and the task ran only once the
        // watchdog let the reader go.) An order, not a time: the rest of
        // the suite shares the pool.
        for hub in hubs { hub.notify() }
        try await Task.sleep(for: .milliseconds(200))
        let ranWhileHeld = await Task.detached { !released.load(ordering: .acquiring) }.value
        releaseOnce()
        #expect(ranWhileHeld, "a task started after the pumps ran only once their reader was released")

        // Released, every pump delivers the event (a generous deadline:
        // the whole suite shares the machine).
        let deadline = ContinuousClock.now + .seconds(30)
        while sinks.contains(where: { $0.seqs.withLock(\.isEmpty) }) && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(5))
        }
        #expect(sinks.allSatisfy { $0.seqs.withLock { $0 } == [1] })
    }
}
