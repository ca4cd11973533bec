import ATProto
import Foundation
import GRDB
import Sequencer
import ServiceStorage
import Testing

/// Retention of the event log: by age and by count, in bounded batches.
@Suite("Event log pruning")
struct SequencerPruneTests {
    /// A log of `count` events one minute apart, the last one now.
    static func log(_ count: Int, now: Date) throws -> (DatabasePool, URL) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("prune-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let pool = try ServiceDatabase.open(path: directory.appendingPathComponent("pds.sqlite").path)
        try pool.write { db in
            for n in 0..<count {
                let event = SequencerEvent(type: "#identity", did: try DID("did:plc:e\(n)"), body: ["did": .string("did:plc:e\(n)")])
                try Sequencer.append(event, db: db, now: now.addingTimeInterval(Double(n - count + 1) * 60))
            }
        }
        return (pool, directory)
    }

    static func seqs(_ pool: DatabasePool) throws -> [Int64] {
        try pool.read { db in try Sequencer.events(after: 0, limit: 1000, db: db).map(\.seq) }
    }

    @Test func aLimitRemovesTheOldestInBatchesUntilTheRulesHold() throws {
        let now = Date()
        let (pool, directory) = try Self.log(10, now: now)
        defer { try? FileManager.default.removeItem(at: directory) }
        // Keep the newest 4: six go, three at a time, oldest first.
        let batch = { try pool.write { db in try Sequencer.prune(maxAge: 86_400, maxCount: 4, now: now, limit: 3, db: db) } }
        #expect(try batch() == 3)
        #expect(try Self.seqs(pool) == Array(4...10))
        #expect(try batch() == 3)
        #expect(try batch() == 0)
        #expect(try Self.seqs(pool) == Array(7...10))
        // By age: events older than 150 s (the 2.5 minutes before now) go.
        #expect(try pool.write { db in try Sequencer.prune(maxAge: 150, maxCount: 100, now: now, limit: 1, db: db) } == 1)
        #expect(try pool.write { db in try Sequencer.prune(maxAge: 150, maxCount: 100, now: now, db: db) } == 0)
        #expect(try Self.seqs(pool) == [8, 9, 10])
        #expect(try pool.read { db in try Sequencer.latestSeq(db: db) } == 10)
    }

    @Test func withoutALimitOnePassRemovesWhatEitherRuleRemoves() throws {
        let now = Date()
        let (pool, directory) = try Self.log(10, now: now)
        defer { try? FileManager.default.removeItem(at: directory) }
        // Age removes the 6 older than 210 s; count alone would remove 2.
        #expect(try pool.write { db in try Sequencer.prune(maxAge: 210, maxCount: 8, now: now, db: db) } == 6)
        #expect(try Self.seqs(pool) == Array(7...10))
        // Count removes 3 more; age alone would remove none.
        #expect(try pool.write { db in try Sequencer.prune(maxAge: 86_400, maxCount: 1, now: now, db: db) } == 3)
        #expect(try Self.seqs(pool) == [10])
    }
}
