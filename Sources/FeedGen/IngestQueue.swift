import ATProto
import Foundation
import GRDB

/// The durable work queue between the ingest sources and the index, in the
/// feed generator's database: events in arrival order, each source's cursor
/// saved in the same transaction as its events (so a restart resumes
/// exactly there), retries with backoff, and a dead-letter table.
public struct IngestQueue: Sendable {
    let pool: DatabasePool

    public init(pool: DatabasePool) {
        self.pool = pool
    }

    /// A queued event.
    public struct Item: Sendable {
        public let id: Int64
        public let source: String
        public let payload: [UInt8]
        public let attempts: Int
    }

    /// Queues `events` of `source` and saves its cursor, atomically.
    public func enqueue(_ events: [IngestEvent], source: String, cursor: Int64?, now: Date = Date()) async throws {
        let payloads = events.map { ATProtoJSON.encode($0.dataValue) }
        let ms = Self.milliseconds(now)
        try await pool.write { db in
            // Prepared once per connection: this runs for every batch of events.
            let insert = try db.cachedStatement(sql: "INSERT INTO ingest_queue (source, event, enqueued_at) VALUES (?, ?, ?)")
            for payload in payloads {
                try insert.execute(arguments: [source, Data(payload), ms])
            }
            if let cursor {
                try db.cachedStatement(
                    sql: """
                        INSERT INTO ingest_cursor (source, cursor, updated_at) VALUES (?, ?, ?)
                        ON CONFLICT (source) DO UPDATE SET cursor = excluded.cursor, updated_at = excluded.updated_at
                        """
                ).execute(arguments: [source, cursor, ms])
            }
        }
    }

    /// The saved cursor of `source`, or nil when it never saved one.
    public func cursor(source: String) async throws -> Int64? {
        try await pool.read { db in try Int64.fetchOne(db, sql: "SELECT cursor FROM ingest_cursor WHERE source = ?", arguments: [source]) }
    }

    /// Forgets the cursor of every source (for a rebuild).
    public func resetCursors() async throws {
        try await pool.write { db in try db.execute(sql: "DELETE FROM ingest_cursor") }
    }

    /// Up to `limit` events ready now, oldest first.
    public func ready(limit: Int, now: Date = Date()) async throws -> [Item] {
        let ms = Self.milliseconds(now)
        return try await pool.read { db in
            try Row.fetchAll(
                db.cachedStatement(sql: "SELECT id, source, event, attempts FROM ingest_queue WHERE not_before <= ? ORDER BY id LIMIT ?"),
                arguments: [ms, limit]
            ).map { Item(id: $0["id"], source: $0["source"], payload: [UInt8]($0["event"] as Data), attempts: $0["attempts"]) }
        }
    }

    /// Settles a processed batch: removes the done events, schedules the
    /// failed ones again (after `backoff`) or, past `maxAttempts`, moves them
    /// to the dead-letter table.
    public func settle(
        done: [Int64], failed: [(item: Item, error: String)], maxAttempts: Int, now: Date = Date()
    ) async throws {
        let ms = Self.milliseconds(now)
        let failures = failed.map { (id: $0.item.id, source: $0.item.source, payload: $0.item.payload, attempts: $0.item.attempts + 1, error: $0.error) }
        try await pool.write { db in
            let delete = try db.cachedStatement(sql: "DELETE FROM ingest_queue WHERE id = ?")
            for id in done {
                try delete.execute(arguments: [id])
            }
            for failure in failures {
                if failure.attempts >= maxAttempts {
                    try db.execute(sql: "DELETE FROM ingest_queue WHERE id = ?", arguments: [failure.id])
                    try Self.insertDeadLetter(
                        db, source: failure.source, payload: failure.payload, error: failure.error, attempts: failure.attempts, at: ms)
                } else {
                    let backoff = Int64(100 << min(failure.attempts, 10))
                    try db.execute(
                        sql: "UPDATE ingest_queue SET attempts = ?, not_before = ?, last_error = ? WHERE id = ?",
                        arguments: [failure.attempts, ms + backoff, failure.error, failure.id])
                }
            }
        }
    }

    /// Records an event that could not even be read (malformed, too large).
    public func deadLetter(source: String, payload: [UInt8], error: String, now: Date = Date()) async throws {
        let ms = Self.milliseconds(now)
        try await pool.write { db in
            try Self.insertDeadLetter(db, source: source, payload: payload, error: error, attempts: 0, at: ms)
        }
    }

    private static func insertDeadLetter(_ db: Database, source: String, payload: [UInt8], error: String, attempts: Int, at ms: Int64) throws {
        try db.execute(
            sql: "INSERT INTO dead_letter (source, event, error, attempts, failed_at) VALUES (?, ?, ?, ?, ?)",
            arguments: [source, Data(payload.prefix(8192)), String(error.prefix(1000)), attempts, ms])
    }

    /// How many events wait, and how many were dead-lettered.
    public func counts() async throws -> (queued: Int, deadLetters: Int) {
        try await pool.read { db in
            (try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM ingest_queue") ?? 0,
             try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM dead_letter") ?? 0)
        }
    }

    /// When the oldest waiting event was queued (unix ms), or nil when none waits.
    public func oldestEnqueuedAt() async throws -> Int64? {
        try await pool.read { db in try Int64.fetchOne(db, sql: "SELECT MIN(enqueued_at) FROM ingest_queue") }
    }

    /// The dead letters' errors, newest last.
    public func deadLetterErrors() async throws -> [String] {
        try await pool.read { db in try String.fetchAll(db, sql: "SELECT error FROM dead_letter ORDER BY id") }
    }

    static func milliseconds(_ date: Date) -> Int64 { Int64((date.timeIntervalSince1970 * 1000).rounded(.down)) }
}
