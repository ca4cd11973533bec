import ATProto
import Foundation
import GRDB
import ServiceStorage

/// The durable event log (`repo_seq`). Events are appended inside the same
/// write transaction as the change they announce, so the log and the data
/// never disagree and `seq` has no gaps.
public enum Sequencer {
    /// Appends an event; call inside the write transaction of the change.
    /// - Returns: the event's seq.
    @discardableResult
    public static func append(_ event: SequencerEvent, db: Database, now: Date = Date()) throws -> Int64 {
        try append(EncodedSequencerEvent(event), db: db, now: now)
    }

    /// Appends an event whose body was encoded beforehand (off the writer).
    /// - Returns: the event's seq.
    @discardableResult
    public static func append(_ event: EncodedSequencerEvent, db: Database, now: Date = Date()) throws -> Int64 {
        let previous = try db.cachedStatement(sql: "SELECT time_us FROM repo_seq ORDER BY seq DESC LIMIT 1")
        let previousTime = try Int64.fetchOne(previous) ?? 0
        let timeUS = max(Int64((now.timeIntervalSince1970 * 1_000_000).rounded()), previousTime + 1)
        let insert = try db.cachedStatement(
            sql: "INSERT INTO repo_seq (did, event_type, event, sequenced_at, time_us) VALUES (?, ?, ?, ?, ?)")
        try insert.execute(arguments: [event.did, event.type, Data(event.body), timeUS / 1000, timeUS])
        return db.lastInsertedRowID
    }

    /// Up to `limit` events after `seq`, in order.
    public static func events(after seq: Int64, limit: Int, db: Database) throws -> [SequencedEvent] {
        try Row.fetchAll(
            db.cachedStatement(sql: "SELECT seq, did, event_type, event, sequenced_at, time_us FROM repo_seq WHERE seq > ? ORDER BY seq LIMIT ?"),
            arguments: [seq, limit]
        ).map {
            SequencedEvent(
                seq: $0["seq"], did: $0["did"], type: $0["event_type"], event: [UInt8]($0["event"] as Data),
                sequencedAt: $0["sequenced_at"], timeUS: $0["time_us"])
        }
    }

    /// The seq of the first retained event written at or after `timeUS`
    /// (unix microseconds), or nil when there is none.
    public static func firstSeq(atOrAfter timeUS: Int64, db: Database) throws -> Int64? {
        try Int64.fetchOne(db, sql: "SELECT seq FROM repo_seq WHERE time_us >= ? ORDER BY time_us, seq LIMIT 1", arguments: [timeUS])
    }

    /// The highest seq ever written (0 before the first event), even when
    /// retention has removed it.
    public static func latestSeq(db: Database) throws -> Int64 {
        try Int64.fetchOne(db, sql: "SELECT seq FROM sqlite_sequence WHERE name = 'repo_seq'") ?? 0
    }

    /// The oldest retained seq, or nil when the log is empty.
    public static func oldestSeq(db: Database) throws -> Int64? {
        try Int64.fetchOne(db, sql: "SELECT MIN(seq) FROM repo_seq")
    }

    /// Removes events older than `maxAge` seconds and all but the newest
    /// `maxCount`, at most `limit` of them (the oldest): a caller that
    /// removes a large backlog does it in several transactions (see
    /// ``pruneBatch``).
    /// - Returns: the number of events removed.
    @discardableResult
    public static func prune(maxAge: TimeInterval, maxCount: Int, now: Date = Date(), limit: Int = .max, db: Database) throws
        -> Int
    {
        guard let oldest = try oldestSeq(db: db) else { return 0 }
        let cutoff = Int64(((now.timeIntervalSince1970 - maxAge) * 1000).rounded()) * 1000
        // `time_us` grows with `seq`, so both rules remove a prefix of the
        // log: up to the last event older than the cutoff (found through
        // time_us's index), and up to the newest `maxCount`.
        let byAge = try Int64.fetchOne(
            db, sql: "SELECT seq FROM repo_seq WHERE time_us < ? ORDER BY time_us DESC LIMIT 1", arguments: [cutoff]) ?? 0
        var last = max(byAge, try latestSeq(db: db) - Int64(maxCount))
        if limit < Int.max { last = min(last, oldest + Int64(limit) - 1) }
        guard last >= oldest else { return 0 }
        try db.execute(sql: "DELETE FROM repo_seq WHERE seq <= ?", arguments: [last])
        return db.changesCount
    }

    /// The events one pruning transaction removes at most (~9 MB of events
    /// at ~4.5 KB each), so that the writer every commit waits for is held
    /// for one batch at a time, not for a 10-minute backlog (60,000 events
    /// at 100 commits/s). In the soak the whole pass, batched and with
    /// `secure_delete = FAST` (see `ServiceDatabase`), left the WAL at
    /// 17.9 MB; in one transaction with secure deletion it grew from 15 to
    /// 114 MB.
    public static let pruneBatch = 2_000
}
