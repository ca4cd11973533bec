import ATProto
import Foundation

/// What a Jetstream-format consumer asked for: the collections and accounts
/// it wants and the largest message it accepts. Given as query parameters
/// on connect and replaced by `options_update` messages later.
public struct JetstreamOptions: Sendable, Equatable {
    /// Jetstream's own limits.
    public static let maxCollections = 100
    public static let maxDids = 10_000

    /// Exact NSIDs; empty with no prefixes means every collection.
    public var collections: Set<String> = []
    /// `app.bsky.graph.*` given as `app.bsky.graph.`.
    public var collectionPrefixes: [String] = []
    /// Empty means every account.
    public var dids: Set<DID> = []
    /// 0 means no limit.
    public var maxMessageSizeBytes: Int = 0

    public init() {}

    /// Options from lists of wanted collections and DIDs, checked.
    public init(wantedCollections: [String], wantedDids: [String], maxMessageSizeBytes: Int = 0) throws(JetstreamOptionsError) {
        guard wantedCollections.count <= Self.maxCollections else { throw .tooMany("wantedCollections", Self.maxCollections) }
        guard wantedDids.count <= Self.maxDids else { throw .tooMany("wantedDids", Self.maxDids) }
        guard maxMessageSizeBytes >= 0 else { throw .invalid("maxMessageSizeBytes", String(maxMessageSizeBytes)) }
        for wanted in wantedCollections {
            if wanted.hasSuffix(".*") {
                let prefix = String(wanted.dropLast(2))
                // The part before `.*` must itself be NSID-like: at least
                // two segments (`app.bsky.*`), each a valid name segment.
                guard prefix.split(separator: ".", omittingEmptySubsequences: false).count >= 2,
                    NSID.isValid(prefix + ".x")
                else { throw .invalid("wantedCollections", wanted) }
                collectionPrefixes.append(prefix + ".")
            } else {
                guard NSID.isValid(wanted) else { throw .invalid("wantedCollections", wanted) }
                collections.insert(wanted)
            }
        }
        for string in wantedDids {
            guard let did = try? DID(string) else { throw .invalid("wantedDids", string) }
            dids.insert(did)
        }
        self.maxMessageSizeBytes = maxMessageSizeBytes
    }

    /// Options from the query of a `/subscribe` request.
    public init(query: [(name: String, value: String)]) throws(JetstreamOptionsError) {
        let size = query.last { $0.name == "maxMessageSizeBytes" }?.value
        guard size == nil || Int(size!) != nil else { throw .invalid("maxMessageSizeBytes", size!) }
        try self.init(
            wantedCollections: query.filter { $0.name == "wantedCollections" }.map(\.value),
            wantedDids: query.filter { $0.name == "wantedDids" }.map(\.value),
            maxMessageSizeBytes: size.flatMap { Int($0) } ?? 0)
    }

    /// Options from an `options_update` message:
    /// `{"type": "options_update", "payload": {"wantedCollections": [...], "wantedDids": [...], "maxMessageSizeBytes": n}}`.
    public init(optionsUpdate json: [UInt8]) throws(JetstreamOptionsError) {
        guard let message = try? ATProtoJSON.decode(json, mode: .lenient), let type = message["type"]?.stringValue else {
            throw .malformedMessage("a subscriber message must be a JSON object with a \"type\"")
        }
        guard type == "options_update" else { throw .malformedMessage("unknown message type \"\(type)\"") }
        guard let payload = message["payload"]?.mapValue else { throw .malformedMessage("options_update needs a \"payload\" object") }
        func strings(_ key: String) throws(JetstreamOptionsError) -> [String] {
            guard let value = payload[key], value != .null else { return [] }
            guard let array = value.arrayValue else { throw .invalid(key, "not an array") }
            var result: [String] = []
            for item in array {
                guard let string = item.stringValue else { throw .invalid(key, "not an array of strings") }
                result.append(string)
            }
            return result
        }
        var size = 0
        if let value = payload["maxMessageSizeBytes"], value != .null {
            guard let number = value.intValue else { throw .invalid("maxMessageSizeBytes", "not an integer") }
            size = Int(number)
        }
        try self.init(wantedCollections: strings("wantedCollections"), wantedDids: strings("wantedDids"), maxMessageSizeBytes: size)
    }

    /// Whether a consumer with these options receives `event`. Identity and
    /// account events ignore the collection filter, as in Jetstream.
    public func wants(_ event: JetstreamEvent) -> Bool {
        if !dids.isEmpty && !dids.contains(event.did) { return false }
        if maxMessageSizeBytes > 0 && event.json.count > maxMessageSizeBytes { return false }
        guard event.kind == .commit, let collection = event.collection else { return true }
        if collections.isEmpty && collectionPrefixes.isEmpty { return true }
        return collections.contains(collection) || collectionPrefixes.contains { collection.hasPrefix($0) }
    }
}

/// Why the options of a Jetstream-format consumer were refused.
public enum JetstreamOptionsError: Error, Sendable, Equatable, CustomStringConvertible {
    case tooMany(String, Int)
    case invalid(String, String)
    case malformedMessage(String)

    public var description: String {
        switch self {
        case .tooMany(let name, let limit): "\(name) may name at most \(limit) values"
        case .invalid(let name, let value): "\(name): '\(value)' is not valid"
        case .malformedMessage(let reason): reason
        }
    }
}
