import ATProto

/// A position in a feed: the `(created_at, cid)` of the last item served,
/// written `<createdAtMs>::<cid>`; unique per item of a community's feed,
/// so posts sharing a millisecond are neither lost nor repeated.
public struct FeedPosition: Sendable, Equatable {
    public let createdAt: Int64
    public let cid: String

    public init(createdAt: Int64, cid: String) {
        self.createdAt = createdAt
        self.cid = cid
    }

    public var string: String { "\(createdAt)::\(cid)" }

    /// Parses `<createdAtMs>::<cid>`.
    public init(parsing text: Substring) throws(FeedGenError) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[1].isEmpty, let ms = Int64(parts[0]), ms >= 0, (try? CID(string: String(parts[2]))) != nil else {
            throw .badCursor("Malformed cursor '\(text.prefix(200))': expected <createdAtMs>::<cid> as returned by the previous page")
        }
        createdAt = ms
        cid = String(parts[2])
    }
}

/// The cursor of a mixed feed: one position per source (own, parent,
/// global), each not started, at an item, or exhausted. Written
/// `mix:<own>|<parent>|<global>` with `-` for not started and `end` for
/// exhausted.
public struct MixCursor: Sendable, Equatable {
    /// Where one source is.
    public enum Position: Sendable, Equatable {
        case start
        case after(FeedPosition)
        case end
    }

    public var own: Position
    public var parent: Position
    public var global: Position

    public static let start = MixCursor(own: .start, parent: .start, global: .start)

    public init(own: Position, parent: Position, global: Position) {
        self.own = own
        self.parent = parent
        self.global = global
    }

    public var string: String {
        func text(_ p: Position) -> String {
            switch p {
            case .start: return "-"
            case .after(let position): return position.string
            case .end: return "end"
            }
        }
        return "mix:" + [own, parent, global].map(text).joined(separator: "|")
    }

    public init(parsing text: String) throws(FeedGenError) {
        guard text.hasPrefix("mix:") else { throw .badCursor("Malformed cursor: expected a mixed-feed cursor as returned by the previous page") }
        let parts = text.dropFirst(4).split(separator: "|", omittingEmptySubsequences: false)
        guard parts.count == 3 else { throw .badCursor("Malformed cursor: a mixed-feed cursor has three positions") }
        var positions: [Position] = []
        for part in parts {
            switch part {
            case "-": positions.append(.start)
            case "end": positions.append(.end)
            default: positions.append(.after(try FeedPosition(parsing: part)))
            }
        }
        own = positions[0]
        parent = positions[1]
        global = positions[2]
    }

    public var isExhausted: Bool { own == .end && parent == .end && global == .end }
}
