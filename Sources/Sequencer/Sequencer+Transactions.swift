import Foundation
import ServiceStorage

/// The event log read and written inside a service transaction, for the
/// changes it announces (an event is appended in the transaction of its
/// change) and for the readers beside other stores.
extension Sequencer {
    /// Appends an event inside the write transaction of its change.
    /// - Returns: the event's seq.
    @discardableResult
    public static func append(_ event: SequencerEvent, in tx: WriteTransaction, now: Date = Date()) throws -> Int64 {
        try append(event, db: tx.db, now: now)
    }

    /// Appends an event whose body was encoded beforehand (off the writer).
    /// - Returns: the event's seq.
    @discardableResult
    public static func append(_ event: EncodedSequencerEvent, in tx: WriteTransaction, now: Date = Date()) throws -> Int64 {
        try append(event, db: tx.db, now: now)
    }

    /// Up to `limit` events after `seq`, in order.
    public static func events(after seq: Int64, limit: Int, in tx: some StoreReading) throws -> [SequencedEvent] {
        try events(after: seq, limit: limit, db: tx.db)
    }

    /// The highest seq ever written (0 before the first event).
    public static func latestSeq(in tx: some StoreReading) throws -> Int64 { try latestSeq(db: tx.db) }

    /// The oldest retained seq, or nil when the log is empty.
    public static func oldestSeq(in tx: some StoreReading) throws -> Int64? { try oldestSeq(db: tx.db) }

    /// Removes events older than `maxAge` seconds and all but the newest
    /// `maxCount`, at most `limit` of them (the oldest).
    /// - Returns: the number of events removed.
    @discardableResult
    public static func prune(
        maxAge: TimeInterval, maxCount: Int, now: Date = Date(), limit: Int = .max, in tx: WriteTransaction
    ) throws -> Int {
        try prune(maxAge: maxAge, maxCount: maxCount, now: now, limit: limit, db: tx.db)
    }
}
