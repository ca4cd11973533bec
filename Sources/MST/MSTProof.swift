import ATProto

/// One change to a key, as a sync 1.1 `#commit` lists it: `cid` nil for a
/// delete, `previous` nil for a create.
public struct MSTOperation: Sendable, Equatable {
    public var key: String
    public var cid: CID?
    public var previous: CID?

    public init(key: String, cid: CID?, previous: CID?) {
        self.key = key
        self.cid = cid
        self.previous = previous
    }
}

/// Proofs over the tree: the nodes that show a key's presence or absence,
/// and the nodes that let anyone undo a set of operations and so check a
/// commit against the previous root ("inductive" firehose validation).
extension MerkleSearchTree {
    /// The nodes on the path from the root to where `key` is or would be:
    /// enough to prove the key's value, or its absence, under the root.
    public static func pathProof(key: String, root: CID, store: any BlockStore) throws -> [CID: [UInt8]] {
        let recorder = RecordingBlockStore(store)
        let tree = try MerkleSearchTree(store: recorder, root: root)
        _ = try tree.get(key)
        return recorder.recorded
    }

    /// Undoes `operations` on the tree at `root`, reading only from `store`.
    /// - Returns: the root CID before the operations.
    public static func invert(operations: [MSTOperation], root: CID, store: any BlockStore) throws -> CID {
        var tree = try MerkleSearchTree(store: store, root: root)
        for op in operations {
            if let previous = op.previous {
                try tree.put(op.key, previous)
            } else if try tree.delete(op.key) == nil {
                throw MSTError.keyNotFound(op.key)
            }
        }
        return tree.rootCID
    }

    /// The covering proof of a commit: the nodes of the tree at `root` that
    /// inverting `operations` reads, plus the path to each operation's key
    /// and to the keys on either side of it. Sent with a commit, these let a
    /// consumer holding nothing else recompute the previous root.
    public static func inversionProof(operations: [MSTOperation], root: CID, store: any BlockStore) throws
        -> [CID: [UInt8]]
    {
        let recorder = RecordingBlockStore(store)
        let tree = try MerkleSearchTree(store: recorder, root: root)
        for op in operations {
            _ = try tree.get(op.key)
            _ = try tree.list(before: op.key, limit: 1, reverse: true)
            _ = try tree.list(after: op.key, limit: 1)
        }
        _ = try invert(operations: operations, root: root, store: recorder)
        return recorder.recorded
    }
}
