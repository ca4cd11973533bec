/// What went wrong in the feed generator, with the XRPC error name and
/// HTTP status a client gets and a message a user understands.
public enum FeedGenError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The feed URI names no community this generator serves.
    case unknownFeed(String)
    /// A request parameter is missing or wrong.
    case invalidRequest(String)
    /// The `cursor` parameter is not one this generator issued.
    case badCursor(String)
    /// The service JWT could not be verified.
    case invalidToken(String)
    /// The service JWT has expired.
    case expiredToken(String)
    /// A setting cannot work.
    case invalidConfig(String)
    /// An ingest event could not be read.
    case malformedEvent(String)
    /// A record breaks the rules of its kind.
    case invalidRecord(String)

    /// The XRPC `error` name.
    public var name: String {
        switch self {
        case .unknownFeed: return "UnknownFeed"
        case .invalidRequest, .invalidConfig: return "InvalidRequest"
        case .badCursor: return "BadCursor"
        case .invalidToken: return "InvalidToken"
        case .expiredToken: return "ExpiredToken"
        case .malformedEvent: return "MalformedEvent"
        case .invalidRecord: return "InvalidRecord"
        }
    }

    /// The HTTP status code.
    public var status: Int {
        switch self {
        case .invalidToken: return 401
        default: return 400
        }
    }

    /// The message for the client.
    public var message: String {
        switch self {
        case .unknownFeed(let uri): return "Unknown feed: \(uri)"
        case .invalidRequest(let m), .badCursor(let m), .invalidToken(let m), .expiredToken(let m), .invalidConfig(let m),
            .malformedEvent(let m), .invalidRecord(let m):
            return m
        }
    }

    public var description: String { "\(name): \(message)" }
}
