import ATProto
import CAR
import Foundation
import GRDB
import Logging
import Sequencer

/// Ingests the PDS's own event log in-process: reads `repo_seq` from the
/// saved cursor in batches, decodes each `#commit`'s operations (records
/// from the commit's CAR slice) and `#account` events, passes them through
/// the cheap filter into the buffer, and then waits for the sequencer hub
/// to announce more (or looks again every second).
public struct LocalSequencerSource: Sendable {
    public static let sourceName = "local"

    let reader: any DatabaseReader
    let hub: SequencerHub?
    let buffer: IngestBuffer
    let filter: CandidateFilter
    let queue: IngestQueue
    let logger: Logger
    let maxEventBytes: Int
    /// Most live events held for the source before it reads the log instead.
    let liveLimit: Int

    public init(
        reader: any DatabaseReader, hub: SequencerHub?, buffer: IngestBuffer, filter: CandidateFilter, queue: IngestQueue,
        logger: Logger, maxEventBytes: Int, liveLimit: Int = 4_096
    ) {
        self.reader = reader
        self.hub = hub
        self.buffer = buffer
        self.filter = filter
        self.queue = queue
        self.logger = logger
        self.maxEventBytes = maxEventBytes
        self.liveLimit = liveLimit
    }

    /// Reads until cancelled: the log from the saved cursor, then the live
    /// events the hub hands over (a ``LocalLogFeed``: no database read and
    /// no task per commit), back to the database whenever the feed
    /// overflowed or skipped ahead, and once a second as a safety net.
    /// Without a hub, the database is read every second.
    public func run() async throws {
        var cursor = try await queue.cursor(source: Self.sourceName) ?? 0
        logger.info("feedgen: local sequencer ingest starts", metadata: ["cursor": "\(cursor)"])
        guard let hub else {
            while !Task.isCancelled {
                cursor = try await catchUp(from: cursor).cursor
                try await Task.sleep(for: .seconds(1))
            }
            await buffer.drain()
            return
        }
        // Attached before the first read, so nothing committed meanwhile is missed.
        let feed = LocalLogFeed(limit: liveLimit)
        await hub.attach(feed)
        let ticker = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(1))
                feed.poke()
            }
        }
        defer { ticker.cancel() }
        do {
            try await withTaskCancellationHandler {
                while !Task.isCancelled {
                    cursor = try await catchUp(from: cursor).cursor
                    cursor = await follow(feed, from: cursor)
                }
            } onCancel: {
                feed.poke()
            }
        } catch {
            await hub.detach(feed)
            throw error
        }
        await hub.detach(feed)
        await buffer.drain()
    }

    /// Reads the log after `cursor` until it is caught up.
    /// - Returns: the seq of the last event read, and how many were read.
    private func catchUp(from cursor: Int64) async throws -> (cursor: Int64, count: Int) {
        var cursor = cursor
        var count = 0
        while !Task.isCancelled {
            let after = cursor
            let batch = try await reader.read { db in try Sequencer.events(after: after, limit: 100, db: db) }
            for event in batch {
                await buffer.add(admitted(event), source: Self.sourceName, cursor: event.seq)
                cursor = event.seq
            }
            count += batch.count
            if batch.count < 100 { break }
        }
        return (cursor, count)
    }

    /// Takes the live events the hub hands over while they follow on from
    /// `cursor` without a gap. - Returns: the seq of the last event taken,
    /// once the database must be read (overflow, gap, poke or cancellation).
    private func follow(_ feed: LocalLogFeed, from cursor: Int64) async -> Int64 {
        var cursor = cursor
        while !Task.isCancelled {
            let delivery = await feed.take()
            var events: [IngestEvent] = []
            var last = cursor
            var gap = false
            for event in delivery.events where event.seq > last {
                guard event.seq == last + 1 else {
                    gap = true
                    break
                }
                events += admitted(event)
                last = event.seq
            }
            if last > cursor {
                await buffer.add(events, source: Self.sourceName, cursor: last)
                cursor = last
            }
            if gap || delivery.overflowed || delivery.poked { break }
        }
        return cursor
    }

    /// Reads the whole retained log from the saved cursor (0 after a
    /// rebuild) into the queue, once. - Returns: the log events read.
    public func replayAll() async throws -> Int {
        let (_, count) = try await catchUp(from: try await queue.cursor(source: Self.sourceName) ?? 0)
        await buffer.drain()
        return count
    }

    /// The events of one log entry that pass the cheap filter.
    func admitted(_ event: SequencedEvent) -> [IngestEvent] {
        // Most commits are dropped here without being decoded.
        if event.type == "#commit", !event.event.withUnsafeBytes({ filter.mayMatter(commitBody: $0, did: event.did) }) {
            return []
        }
        do {
            return try Self.decode(event, maxRecordBytes: maxEventBytes).filter { filter.admits($0) }
        } catch {
            logger.warning("feedgen: unreadable log event skipped", metadata: ["seq": "\(event.seq)", "error": "\(error)"])
            return []
        }
    }

    /// The ingest events of a log entry: one per record operation of a
    /// `#commit` (records read from its blocks), or the account change of an
    /// `#account`. Records larger than `maxRecordBytes` are left out.
    public static func decode(_ event: SequencedEvent, maxRecordBytes: Int = 256 * 1024) throws -> [IngestEvent] {
        switch event.type {
        case "#commit":
            let body = try event.body()
            guard let did = body["repo"]?.stringValue, let car = body["blocks"]?.bytesValue else { return [] }
            var reader = try CARReader(source: InMemoryByteSource(car))
            let blocks = try reader.readAll()
            var events: [IngestEvent] = []
            for op in body["ops"]?.arrayValue ?? [] {
                guard let action = op["action"]?.stringValue, let path = op["path"]?.stringValue,
                    let operation = RecordChange.Operation(rawValue: action)
                else { continue }
                let parts = path.split(separator: "/", maxSplits: 1)
                guard parts.count == 2 else { continue }
                let collection = String(parts[0]), rkey = String(parts[1])
                guard collection == AtrariumRecords.post.string || collection.hasPrefix("net.atrarium.") else { continue }
                var record: DataValue?
                let cid = op["cid"]?.linkValue
                if operation != .delete {
                    guard let cid, let bytes = blocks[cid], bytes.count <= maxRecordBytes else { continue }
                    record = try DAGCBOR.decode(bytes)
                }
                events.append(
                    .record(
                        try RecordChange(
                            did: did, collection: collection, rkey: rkey, operation: operation,
                            cid: operation == .delete ? nil : cid?.string, record: record)))
            }
            return events
        case "#account":
            let body = try event.body()
            return [.account(did: event.did, active: body["active"]?.boolValue ?? true, status: body["status"]?.stringValue)]
        default:
            return []
        }
    }
}
