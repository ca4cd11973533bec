import ATProto
import CAR
import Foundation
import GRDB
import Repo

/// One event of the log before it is sequenced: its frame type (`#commit`,
/// `#sync`, `#identity`, `#account`), the account it concerns, and its body
/// without `seq` (added when the event is framed).
public struct SequencerEvent: Sendable, Equatable {
    public let type: String
    public let did: DID
    public let body: DataMap

    public init(type: String, did: DID, body: DataMap) {
        self.type = type
        self.did = did
        self.body = body
    }

    /// The `#commit` event of a commit (sync 1.1): the commit, its rev and
    /// the previous one, the operations with their previous CIDs, the
    /// previous tree root, and a CAR (rooted at the commit) of the blocks
    /// that let a consumer verify the operations by inverting them.
    public static func commit(_ result: CommitResult, time: Date = Date()) -> SequencerEvent {
        let blocks = result.firehoseBlocks
            .sorted { $0.key < $1.key }
            .map { (cid: $0.key, bytes: $0.value) }
        let ops: [DataValue] = result.ops.map { op in
            var map: DataMap = [
                "action": .string(op.action.rawValue), "path": .string(op.path),
                "cid": op.cid.map(DataValue.link) ?? .null,
            ]
            if op.action != .create { map["prev"] = op.prev.map(DataValue.link) ?? .null }
            return .map(map)
        }
        var body: DataMap = [
            "rebase": false, "tooBig": false,
            "repo": .string(result.did.string),
            "commit": .link(result.commitCID),
            "rev": .string(result.rev),
            "since": result.since.map(DataValue.string) ?? .null,
            "blocks": .bytes(CARWriter.bytes(roots: [result.commitCID], blocks: blocks)),
            "ops": .array(ops),
            "blobs": [],
            "time": .string(ATDatetime.format(time)),
        ]
        if let prevData = result.prevData { body["prevData"] = .link(prevData) }
        return SequencerEvent(type: "#commit", did: result.did, body: body)
    }

    /// A `#sync` event: the account's repository is now at this commit (on
    /// creation, import or reset); the CAR holds only the signed commit.
    public static func sync(did: DID, commitCID: CID, commitBytes: [UInt8], rev: String, time: Date = Date())
        -> SequencerEvent
    {
        SequencerEvent(
            type: "#sync", did: did,
            body: [
                "did": .string(did.string),
                "blocks": .bytes(CARWriter.bytes(roots: [commitCID], blocks: [(cid: commitCID, bytes: commitBytes)])),
                "rev": .string(rev),
                "time": .string(ATDatetime.format(time)),
            ])
    }

    /// An `#identity` event: the account's handle or DID document changed.
    public static func identity(did: DID, handle: Handle?, time: Date = Date()) -> SequencerEvent {
        var body: DataMap = ["did": .string(did.string), "time": .string(ATDatetime.format(time))]
        if let handle { body["handle"] = .string(handle.string) }
        return SequencerEvent(type: "#identity", did: did, body: body)
    }

    /// An `#account` event: whether the account is active and, when not,
    /// why (`takendown`, `suspended`, `deleted`, `deactivated`, ...).
    public static func account(did: DID, active: Bool, status: String?, time: Date = Date()) -> SequencerEvent {
        var body: DataMap = ["did": .string(did.string), "active": .bool(active), "time": .string(ATDatetime.format(time))]
        if !active, let status { body["status"] = .string(status) }
        return SequencerEvent(type: "#account", did: did, body: body)
    }
}

/// An event as the log stores it.
public struct SequencedEvent: Sendable, Equatable {
    public let seq: Int64
    public let did: DID
    public let type: String
    /// The DAG-CBOR body without `seq`.
    public let event: [UInt8]
    /// Unix time in milliseconds.
    public let sequencedAt: Int64
    /// Unix time in microseconds, strictly increasing along `seq`: the
    /// position of the event in the Jetstream-format view.
    public let timeUS: Int64

    public init(seq: Int64, did: DID, type: String, event: [UInt8], sequencedAt: Int64, timeUS: Int64? = nil) {
        self.seq = seq
        self.did = did
        self.type = type
        self.event = event
        self.sequencedAt = sequencedAt
        self.timeUS = timeUS ?? sequencedAt * 1000
    }

    /// The body with its `seq`.
    public func body() throws -> DataMap {
        guard var map = try DAGCBOR.decode(event).mapValue else { throw SequencerError.corruptEvent(seq) }
        map["seq"] = .int(seq)
        return map
    }

    /// The `subscribeRepos` frame of this event.
    public func frame() throws -> [UInt8] {
        Frames.message(type: type, body: try body())
    }
}

public enum SequencerError: Error, Sendable, Equatable {
    case corruptEvent(Int64)
}

/// `subscribeRepos` frames: two concatenated DAG-CBOR objects, a header
/// `{op, t}` and a body.
public enum Frames {
    /// A message frame: `{op: 1, t: type}` then the body.
    public static func message(type: String, body: DataMap) -> [UInt8] {
        DAGCBOR.encode(.map(["op": 1, "t": .string(type)])) + DAGCBOR.encode(.map(body))
    }

    /// An error frame: `{op: -1}` then `{error, message}`.
    public static func error(_ name: String, message: String? = nil) -> [UInt8] {
        var body: DataMap = ["error": .string(name)]
        if let message { body["message"] = .string(message) }
        return DAGCBOR.encode(.map(["op": -1])) + DAGCBOR.encode(.map(body))
    }

    /// An `#info` frame, e.g. `OutdatedCursor`.
    public static func info(_ name: String, message: String? = nil) -> [UInt8] {
        var body: DataMap = ["name": .string(name)]
        if let message { body["message"] = .string(message) }
        return Frames.message(type: "#info", body: body)
    }

    /// Splits a frame into its header and body.
    public static func decode(_ frame: [UInt8]) throws -> (header: DataMap, body: DataMap) {
        let (header, length) = try DAGCBOR.decodePrefix(frame)
        let body = try DAGCBOR.decode(frame[length...])
        guard let h = header.mapValue, let b = body.mapValue else { throw SequencerError.corruptEvent(-1) }
        return (h, b)
    }
}

/// A ``SequencerEvent`` with its body already in DAG-CBOR, as the log
/// stores it: a commit's event is encoded while the commit is built, so
/// the single writer only inserts it.
public struct EncodedSequencerEvent: Sendable {
    public let type: String
    public let did: DID
    /// The DAG-CBOR body, without `seq`.
    public let body: [UInt8]

    public init(_ event: SequencerEvent) {
        type = event.type
        did = event.did
        body = DAGCBOR.encode(.map(event.body))
    }
}
