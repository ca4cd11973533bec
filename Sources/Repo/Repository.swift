import ATCrypto
import ATProto
import MST

/// A repository at one commit: its signed commit and its MST over a block
/// store. Writing produces a ``CommitResult`` that storage applies; the value
/// itself never changes.
public struct Repository: Sendable {
    public let did: DID
    public let commit: SignedCommit
    public let commitCID: CID
    public let store: any BlockStore

    /// Opens the repository whose current commit is `commitCID`.
    public init(did: DID? = nil, commitCID: CID, store: any BlockStore) throws {
        guard let bytes = try store.getBlock(commitCID) else { throw RepoError.missingBlock(commitCID) }
        let commit = try SignedCommit(bytes: bytes)
        if let did, did != commit.did { throw RepoError.wrongDID(expected: did, found: commit.did) }
        self.did = commit.did
        self.commit = commit
        self.commitCID = commitCID
        self.store = store
    }

    /// The MST of this commit.
    public func tree() throws -> MerkleSearchTree {
        try MerkleSearchTree(store: store, root: commit.data)
    }

    /// The first commit of a new, empty repository.
    public static func create(did: DID, key: PrivateKey, rev: TID) throws -> CommitResult {
        var tree = MerkleSearchTree(store: MemoryBlockStore())
        let (root, nodes) = tree.serialize()
        let commit = try SignedCommit.sign(did: did, data: root, rev: rev.string, key: key)
        let commitBytes = commit.bytes
        let commitCID = CID.compute(commitBytes)
        var blocks = nodes
        blocks[commitCID] = commitBytes
        return CommitResult(
            did: did, commit: commit, commitCID: commitCID, since: nil, prevData: nil, prevCommit: nil,
            ops: [], newBlocks: blocks, removedBlocks: [], firehoseBlocks: blocks)
    }

    /// The record CID at `collection/rkey`, if any.
    public func recordCID(collection: NSID, rkey: RecordKey) throws -> CID? {
        try tree().get(collection.string + "/" + rkey.string)
    }

    /// The record value at `collection/rkey`, if any.
    public func record(collection: NSID, rkey: RecordKey) throws -> (cid: CID, value: DataValue)? {
        guard let cid = try recordCID(collection: collection, rkey: rkey) else { return nil }
        guard let bytes = try store.getBlock(cid) else { throw RepoError.missingBlock(cid) }
        return (cid, try DAGCBOR.decode(bytes))
    }

    /// Applies `writes` in order and signs the new commit with `key`.
    /// - Parameter rev: the new commit's rev, which must follow the current one.
    public func apply(_ writes: [RepoWrite], key: PrivateKey, rev: TID) throws -> CommitResult {
        guard rev.string > commit.rev else { throw RepoError.revNotIncreasing(previous: commit.rev, next: rev.string) }
        var tree = try self.tree()
        var recordBlocks: [CID: [UInt8]] = [:]
        var ops: [RepoOperation] = []
        var removed = Set<CID>()
        var seen = Set<String>()
        for write in writes {
            let path = write.path
            guard MSTKey.isValid(path) else { throw RepoError.invalidPath(path) }
            guard seen.insert(path).inserted else {
                throw RepoError.operationMismatch("\(path) is written twice in one commit")
            }
            switch write {
            case .create(_, _, let record), .update(_, _, let record):
                guard case .map = record else { throw RepoError.invalidRecord(path, "a record must be a map") }
                let bytes = DAGCBOR.encode(record)
                let cid = CID.compute(bytes)
                recordBlocks[cid] = bytes
                let previous = try tree.put(path, cid)
                if case .create = write, previous != nil { throw RepoError.recordExists(path) }
                if case .update = write, previous == nil { throw RepoError.recordNotFound(path) }
                if let previous, previous != cid { removed.insert(previous) }
                ops.append(RepoOperation(action: previous == nil ? .create : .update, path: path, cid: cid, prev: previous))
            case .delete:
                guard let previous = try tree.delete(path) else { throw RepoError.recordNotFound(path) }
                removed.insert(previous)
                ops.append(RepoOperation(action: .delete, path: path, cid: nil, prev: previous))
            }
        }
        let (root, nodes) = tree.serialize()
        let newCommit = try SignedCommit.sign(did: did, data: root, rev: rev.string, key: key)
        let commitBytes = newCommit.bytes
        let newCommitCID = CID.compute(commitBytes)

        var newBlocks = nodes.merging(recordBlocks) { a, _ in a }
        newBlocks[newCommitCID] = commitBytes
        let view = OverlayBlockStore(newBlocks, over: store)
        let diff = try MSTDiff.between(old: commit.data, new: root, store: view)
        removed.formUnion(diff.removedNodes)
        removed.insert(commitCID)
        // A record written again under the same CID is not removed.
        removed.subtract(recordBlocks.keys)

        let mstOps = ops.map { MSTOperation(key: $0.path, cid: $0.cid, previous: $0.prev) }
        var firehose = try MerkleSearchTree.inversionProof(operations: mstOps, root: root, store: view)
        for op in ops { if let cid = op.cid { firehose[cid] = recordBlocks[cid] } }
        firehose[newCommitCID] = commitBytes
        return CommitResult(
            did: did, commit: newCommit, commitCID: newCommitCID, since: commit.rev, prevData: commit.data,
            prevCommit: commitCID, ops: ops, newBlocks: newBlocks, removedBlocks: removed, firehoseBlocks: firehose)
    }
}
