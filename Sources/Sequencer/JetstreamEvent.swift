import ATProto
import CAR
import Foundation

/// One message of the Jetstream-format view (the wire format of
/// bluesky-social/jetstream v1): `{did, time_us, kind, commit|identity|account}`
/// as JSON text, with what a filter needs to know about it.
public struct JetstreamEvent: Sendable, Equatable {
    public enum Kind: String, Sendable {
        case commit, identity, account
    }

    public let did: DID
    public let kind: Kind
    /// The record's collection, for commit events.
    public let collection: String?
    /// The position of the event in the log (unix microseconds).
    public let timeUS: Int64
    /// The UTF-8 JSON text sent to consumers.
    public let json: [UInt8]

    /// The Jetstream messages of one log event: one per operation of a
    /// `#commit` (each carrying the record as JSON on create and update),
    /// one for `#identity` and `#account`, none for `#sync` (Jetstream v1
    /// has no such kind).
    public static func messages(of event: SequencedEvent) throws -> [JetstreamEvent] {
        let body = try event.body()
        switch event.type {
        case "#commit":
            return try commitMessages(event: event, body: body)
        case "#identity":
            return [message(event, kind: .identity, payload: body)]
        case "#account":
            return [message(event, kind: .account, payload: body)]
        default:
            return []
        }
    }

    private static func message(_ event: SequencedEvent, kind: Kind, collection: String? = nil, payload: DataMap) -> JetstreamEvent {
        let value: DataValue = [
            "did": .string(event.did.string), "time_us": .int(event.timeUS), "kind": .string(kind.rawValue),
            kind.rawValue: .map(payload),
        ]
        return JetstreamEvent(did: event.did, kind: kind, collection: collection, timeUS: event.timeUS, json: ATProtoJSON.encode(value))
    }

    private static func commitMessages(event: SequencedEvent, body: DataMap) throws -> [JetstreamEvent] {
        guard let rev = body["rev"]?.stringValue, let ops = body["ops"]?.arrayValue, let car = body["blocks"]?.bytesValue else {
            throw SequencerError.corruptEvent(event.seq)
        }
        var reader = try CARReader(source: InMemoryByteSource(car))
        let blocks = try reader.readAll()
        return try ops.compactMap { op -> JetstreamEvent? in
            guard let action = op["action"]?.stringValue, let path = op["path"]?.stringValue,
                let slash = path.firstIndex(of: "/")
            else { throw SequencerError.corruptEvent(event.seq) }
            let collection = String(path[..<slash])
            var commit: DataMap = [
                "rev": .string(rev), "operation": .string(action), "collection": .string(collection),
                "rkey": .string(String(path[path.index(after: slash)...])),
            ]
            if action != "delete" {
                // The record block is in the CAR slice of every create and
                // update; an operation without it cannot be shown.
                guard let cid = op["cid"]?.linkValue, let bytes = blocks[cid] else { throw SequencerError.corruptEvent(event.seq) }
                commit["record"] = try DAGCBOR.decode(bytes)
                commit["cid"] = .string(cid.string)
            }
            return message(event, kind: .commit, collection: collection, payload: commit)
        }
    }
}
