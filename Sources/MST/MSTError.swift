import ATProto

/// Why an MST operation failed.
public enum MSTError: Error, Equatable, CustomStringConvertible {
    case invalidKey(String)
    case missingBlock(CID)
    case malformedNode(CID, String)
    case keyExists(String)
    case keyNotFound(String)

    public var description: String {
        switch self {
        case .invalidKey(let k): return "invalid MST key '\(k.prefix(80))': expected <collection>/<record key>"
        case .missingBlock(let c): return "MST node \(c) is not in the block store"
        case .malformedNode(let c, let why): return "MST node \(c) is malformed: \(why)"
        case .keyExists(let k): return "MST already has the key '\(k)'"
        case .keyNotFound(let k): return "MST has no key '\(k)'"
        }
    }
}
