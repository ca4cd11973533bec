import ATProto

/// Why a repository operation or verification failed.
public enum RepoError: Error, Equatable, CustomStringConvertible {
    case malformedCommit(String)
    case unsupportedCommitVersion(Int64)
    case badSignature
    case wrongDID(expected: DID, found: DID)
    case missingBlock(CID)
    case recordExists(String)
    case recordNotFound(String)
    case invalidRecord(String, String)
    case invalidPath(String)
    case noRoot
    case rootMismatch(expected: CID, computed: CID)
    case revNotIncreasing(previous: String, next: String)
    case revInFuture(String)
    case concurrentWrite(DID)
    case operationMismatch(String)

    public var description: String {
        switch self {
        case .malformedCommit(let why): return "the commit is malformed: \(why)"
        case .unsupportedCommitVersion(let v): return "commit version \(v) is not supported (expected 3)"
        case .badSignature: return "the commit signature does not verify against the repository's key"
        case .wrongDID(let e, let f): return "the commit is for \(f), expected \(e)"
        case .missingBlock(let c): return "block \(c) is missing from the repository"
        case .recordExists(let p): return "a record already exists at \(p)"
        case .recordNotFound(let p): return "no record at \(p)"
        case .invalidRecord(let p, let why): return "the record at \(p) is not valid data: \(why)"
        case .invalidPath(let p): return "'\(p)' is not a valid <collection>/<record key> path"
        case .noRoot: return "the CAR has no root commit"
        case .rootMismatch(let e, let c): return "the MST root should be \(e) but the records give \(c)"
        case .revNotIncreasing(let p, let n): return "commit rev \(n) is not after the previous rev \(p)"
        case .revInFuture(let rev): return "commit rev \(rev) is a time in the future"
        case .concurrentWrite(let did): return "the repository \(did) changed during the write; try again"
        case .operationMismatch(let why): return "the commit's operations do not match its blocks: \(why)"
        }
    }
}
