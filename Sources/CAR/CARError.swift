/// Why a CAR file could not be read or written.
public enum CARError: Error, Equatable, CustomStringConvertible {
    case truncated(offset: Int)
    case malformedVarint(offset: Int)
    case emptySection(offset: Int)
    case sectionTooLarge(offset: Int, length: UInt64, limit: Int)
    case headerTooLarge(length: UInt64, limit: Int)
    case malformedHeader(String)
    case unsupportedVersion(Int64)
    case malformedCID(offset: Int, reason: String)
    case cidMismatch(offset: Int, cid: String)
    case tooManyBlocks(limit: Int)

    public var description: String {
        switch self {
        case .truncated(let o): return "CAR is truncated at byte \(o)"
        case .malformedVarint(let o): return "CAR has a malformed length varint at byte \(o)"
        case .emptySection(let o): return "CAR has an empty section at byte \(o)"
        case .sectionTooLarge(let o, let n, let l):
            return "CAR section at byte \(o) declares \(n) bytes, over the limit of \(l)"
        case .headerTooLarge(let n, let l): return "CAR header declares \(n) bytes, over the limit of \(l)"
        case .malformedHeader(let why): return "CAR header is malformed: \(why)"
        case .unsupportedVersion(let v): return "CAR version \(v) is not supported (only version 1)"
        case .malformedCID(let o, let why): return "CAR section at byte \(o) has a malformed CID: \(why)"
        case .cidMismatch(let o, let cid): return "CAR block at byte \(o) does not hash to its CID \(cid)"
        case .tooManyBlocks(let l): return "CAR has more than \(l) blocks"
        }
    }
}
