import ATCrypto
import ATProto
import Foundation
import MST
import Repo
import ServiceStorage
import Sequencer

/// Commits to a hosted repository, stored in groups on the writer
/// connection (see ``CommitQueue``).
///
/// A commit is built in memory first, on the requesting task, from the
/// repository's tip (the latest commit this server built for it, see
/// ``CommitTips``) and the MST nodes kept in ``PDSServices/commitNodes``,
/// so building runs in parallel across repositories and the writer only
/// stores it. The writer stores such a commit only if its base is still
/// the repository's current commit (``RepoStorage/apply(_:db:)`` checks
/// that before it writes anything); otherwise (a concurrent commit to the
/// same repository was stored first, or the tip was wrong) and whenever
/// the in-memory build was not possible, the commit is built on the
/// writer from the current state, in the transaction that stores it.
/// Either way swap checks and record checks see the state the commit is
/// stored on.
enum RepoCommits {
    /// The most operations one commit may carry (the relay's limit).
    static let maxOperations = 200
    /// The most new block bytes one commit may carry (the relay's limit).
    static let maxBlockBytes = 2 * 1024 * 1024

    /// A commit built in memory, waiting to be stored.
    struct Prebuilt: Sendable {
        let result: CommitResult
        let blobs: BlobTracking.Changes
        /// The commit's `#commit` event, encoded as it was built.
        let event: EncodedSequencerEvent
    }

    /// Builds the writes from the current repository (so swap checks see the
    /// latest state), commits them and stores the result.
    static func commit(
        did: DID, key: PrivateKey, swapCommit: String?, services: PDSServices,
        writes build: @escaping @Sendable (Repository) throws -> [RepoWrite]
    ) async throws -> CommitResult {
        let limits = services.config.rateLimits
        if let wait = services.rateLimiter.hit(.init(name: "writes", max: limits.writesPerHour, window: 3600), key: did.string) {
            throw XRPCError.rateLimited(retryAfter: wait)
        }
        let prebuilt = prebuild(did: did, key: key, swapCommit: swapCommit, services: services, writes: build)
        return try await services.commits.write { tx in
            do {
                if let prebuilt {
                    do {
                        try store(prebuilt.result, blobs: prebuilt.blobs, event: prebuilt.event, in: tx)
                        services.commitTips.count(\.builtAhead)
                        return prebuilt.result
                    } catch RepoError.concurrentWrite {
                        // Its base is no longer the current commit, and
                        // nothing was written: build it again below.
                    }
                }
                services.commitTips.count(prebuilt == nil ? \.builtOnWriter : \.builtAgain)
                let result = try buildAndStore(did: did, key: key, swapCommit: swapCommit, services: services, in: tx, writes: build)
                services.commitTips.stored(did, commit: result.commitCID)
                return result
            } catch {
                services.commitTips.forget(did)
                throw error
            }
        }
    }

    /// The commit built in memory from the repository's tip, or nil when
    /// that is not possible (no tip, a node not in memory, or any error:
    /// the writer then builds it and reports the error if it is real).
    static func prebuild(
        did: DID, key: PrivateKey, swapCommit: String?, services: PDSServices,
        writes build: @Sendable (Repository) throws -> [RepoWrite]
    ) -> Prebuilt? {
        guard let base = services.commitTips.tip(did) else { return nil }
        if let swapCommit, swapCommit != base.string { return nil }
        do {
            let repo = try Repository(did: did, commitCID: base, store: NodeCacheBlockStore(cache: services.commitNodes))
            let writes = try build(repo)
            guard !writes.isEmpty, writes.count <= maxOperations else { return nil }
            let blobs = try BlobTracking.changes(in: writes, did: did)
            let result = try repo.apply(writes, key: key, rev: try services.tids.next(after: TID(repo.commit.rev)))
            guard result.newBlocks.values.reduce(0, { $0 + $1.count }) <= maxBlockBytes,
                services.commitTips.advance(did, from: base, to: result.commitCID)
            else { return nil }
            keepCommitBlock(result, services: services)
            return Prebuilt(result: result, blobs: blobs, event: EncodedSequencerEvent(.commit(result)))
        } catch {
            return nil
        }
    }

    /// Builds the commit from the repository's current state in the
    /// writer's transaction and stores it.
    static func buildAndStore(
        did: DID, key: PrivateKey, swapCommit: String?, services: PDSServices, in tx: WriteTransaction,
        writes build: (Repository) throws -> [RepoWrite]
    ) throws -> CommitResult {
        let repo = try existingRepository(did: did, in: tx, nodeCache: services.commitNodes)
        if let swapCommit, swapCommit != repo.commitCID.string {
            throw XRPCError(.badRequest, "InvalidSwap", "Commit was at \(repo.commitCID.string)")
        }
        let writes = try build(repo)
        guard !writes.isEmpty else { throw XRPCError.invalidRequest("No writes given") }
        guard writes.count <= maxOperations else {
            throw XRPCError.invalidRequest("Too many writes: at most \(maxOperations) per commit")
        }
        let blobs = try BlobTracking.changes(in: writes, did: did)
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
        try store(result, blobs: blobs, event: EncodedSequencerEvent(.commit(result)), in: tx)
        keepCommitBlock(result, services: services)
        return result
    }

    /// Stores a built commit with its blob references and its event;
    /// throws ``RepoError/concurrentWrite(_:)``, having written nothing,
    /// when its base is no longer the repository's current commit.
    static func store(_ result: CommitResult, blobs: BlobTracking.Changes, event: EncodedSequencerEvent, in tx: WriteTransaction) throws {
        try RepoStorage.apply(result, in: tx)
        try BlobTracking.apply(blobs, in: tx)
        try Sequencer.append(event, in: tx)
    }

    /// The next commit to this repository starts by reading this one.
    static func keepCommitBlock(_ result: CommitResult, services: PDSServices) {
        if let bytes = result.newBlocks[result.commitCID] {
            services.commitNodes.keep(result.commitCID, bytes: bytes)
        }
    }

    static func existingRepository(did: DID, in tx: some StoreReading, nodeCache: MSTNodeCache? = nil) throws -> Repository {
        guard let repo = try RepoStorage.repository(did: did, in: tx, nodeCache: nodeCache) else {
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
