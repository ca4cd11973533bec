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

    public init(
        reader: any DatabaseReader, hub: SequencerHub?, buffer: IngestBuffer, filter: CandidateFilter, queue: IngestQueue,
        logger: Logger, maxEventBytes: Int
    ) {
        self.reader = reader
        self.hub = hub
        self.buffer = buffer
        self.filter = filter
        self.queue = queue
        self.logger = logger
        self.maxEventBytes = maxEventBytes
    }

    /// Reads until cancelled.
    public func run() async throws {
        var cursor = try await queue.cursor(source: Self.sourceName) ?? 0
        logger.info("feedgen: local sequencer ingest starts", metadata: ["cursor": "\(cursor)"])
        while !Task.isCancelled {
            // Subscribe before reading, so an event committed meanwhile wakes us.
            let subscription = await hub?.subscribe(bufferSize: 16)
            defer { subscription?.cancel() }
            var caughtUp = false
            while !caughtUp && !Task.isCancelled {
                let after = cursor
                let batch = try await reader.read { db in try Sequencer.events(after: after, limit: 100, db: db) }
                for event in batch {
                    await buffer.add(admitted(event), source: Self.sourceName, cursor: event.seq)
                    cursor = event.seq
                }
                caughtUp = batch.count < 100
            }
            if let subscription {
                await Self.firstEvent(of: subscription, timeout: .seconds(1))
            } else {
                try await Task.sleep(for: .seconds(1))
            }
        }
        await buffer.drain()
    }

    /// Reads the whole retained log from the saved cursor (0 after a
    /// rebuild) into the queue, once. - Returns: the log events read.
    public func replayAll() async throws -> Int {
        var cursor = try await queue.cursor(source: Self.sourceName) ?? 0
        var count = 0
        while true {
            let after = cursor
            let batch = try await reader.read { db in try Sequencer.events(after: after, limit: 100, db: db) }
            for event in batch {
                await buffer.add(admitted(event), source: Self.sourceName, cursor: event.seq)
                cursor = event.seq
            }
            count += batch.count
            if batch.count < 100 { break }
        }
        await buffer.drain()
        return count
    }

    private static func firstEvent(of subscription: SequencerHub.Subscription, timeout: Duration) async {
        let signal = WakeSignal()
        let listener = Task {
            // An event, or the end of the stream (overflow): either way, read.
            for await _ in subscription.events { break }
            signal.signal()
        }
        await signal.wait(timeout: timeout)
        listener.cancel()
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
                guard collection == AtrariumRecords.post || collection.hasPrefix("net.atrarium.") else { continue }
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
