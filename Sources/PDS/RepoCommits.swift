import ATCrypto
import ATProto
import Foundation
import GRDB
import MST
import Repo
import Sequencer

/// Commits to a hosted repository: built from the current state and written
/// in the same transaction, on the writer connection (see ``CommitQueue``).
enum RepoCommits {
    /// The most operations one commit may carry (the relay's limit).
    static let maxOperations = 200
    /// The most new block bytes one commit may carry (the relay's limit).
    static let maxBlockBytes = 2 * 1024 * 1024

    /// Builds the writes from the current repository (so swap checks see the
    /// latest state), commits them and stores the result.
    static func commit(
        did: String, key: PrivateKey, swapCommit: String?, services: PDSServices,
        writes build: @escaping @Sendable (Repository) throws -> [RepoWrite]
    ) async throws -> CommitResult {
        let limits = services.config.rateLimits
        if let wait = services.rateLimiter.hit(.init(name: "writes", max: limits.writesPerHour, window: 3600), key: did) {
            throw XRPCError.rateLimited(retryAfter: wait)
        }
        return try await services.commits.commit { db in
            // Built against the current state (so swap checks see the latest
            // commit) and stored in the same transaction.
            let repo = try existingRepository(did: did, db: db, nodeCache: services.commitNodes)
            if let swapCommit, swapCommit != repo.commitCID.string {
                throw XRPCError(.badRequest, "InvalidSwap", "Commit was at \(repo.commitCID.string)")
            }
            let writes = try build(repo)
            guard !writes.isEmpty else { throw XRPCError.invalidRequest("No writes given") }
            guard writes.count <= maxOperations else {
                throw XRPCError.invalidRequest("Too many writes: at most \(maxOperations) per commit")
            }
            let blobs = try BlobTracking.check(writes, did: did, db: db)
            let rev = try services.tids.next(after: TID(repo.commit.rev))
            let result: CommitResult
            do {
                result = try repo.apply(writes, key: key, rev: rev)
            } catch let error as RepoError {
                throw XRPCError.from(error)
            }
            let size = result.newBlocks.values.reduce(0) { $0 + $1.count }
            guard size <= maxBlockBytes else {
                throw XRPCError.invalidRequest("The commit is too large: \(size) bytes of new blocks, at most \(maxBlockBytes)")
            }
            try RepoStorage.apply(result, db: db)
            // The next commit to this repository starts by reading this one.
            if let commitBytes = result.newBlocks[result.commitCID] {
                services.commitNodes.keep(result.commitCID, bytes: commitBytes)
            }
            try BlobTracking.apply(blobs, db: db)
            try Sequencer.append(.commit(result), db: db)
            return result
        }
    }

    static func existingRepository(did: String, db: Database, nodeCache: MSTNodeCache? = nil) throws -> Repository {
        guard let repo = try RepoStorage.repository(did: did, db: db, nodeCache: nodeCache) else {
            throw XRPCError.notFound("RepoNotFound", "Could not find repo: \(did)")
        }
        return repo
    }
}

extension XRPCError {
    /// The XRPC form of a repository error.
    static func from(_ error: RepoError) -> XRPCError {
        switch error {
        case .recordNotFound(let path): return XRPCError(.badRequest, "RecordNotFound", "Could not locate record: \(path)")
        case .recordExists(let path): return XRPCError(.badRequest, "InvalidSwap", "Record already exists at \(path)")
        case .invalidPath(let path): return .invalidRequest("Invalid collection or record key: \(path)")
        case .invalidRecord(_, let why): return .invalidRequest("Invalid record: \(why)")
        case .operationMismatch(let why): return .invalidRequest(why)
        case .concurrentWrite: return XRPCError(.conflict, "ConcurrentWrite", "\(error)")
        default: return .internalError("\(error)")
        }
    }
}
