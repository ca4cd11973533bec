import ATCrypto
import ATProto
import CAR
import MST

/// What verifying a whole repository found.
public struct RepoVerification: Sendable {
    public let did: DID
    public let rev: String
    public let commitCID: CID
    public let data: CID
    public let recordCount: Int
    public let blockCount: Int
    /// Whether the signature was checked (a key was given) and verified.
    public let signatureVerified: Bool
    /// Records per collection.
    public let collections: [String: Int]
}

/// Checks repositories and commits the way a relay or a new host would.
public enum RepoVerifier {
    /// Verifies a repository exported as a CAR: the root is a well-formed
    /// commit for `expectedDID` (when given) signed by `key` (when given), the
    /// MST is well formed and canonical (see ``MerkleSearchTree/validate(_:)``),
    /// and every record block is present.
    public static func verifyCAR<Source: CARByteSource>(
        _ source: Source, expectedDID: DID? = nil, key: PublicKey? = nil
    ) throws -> RepoVerification {
        var reader = try CARReader(source: source)
        guard let root = reader.roots.first, reader.roots.count == 1 else { throw RepoError.noRoot }
        return try verify(root: root, blocks: try reader.readAll(), expectedDID: expectedDID, key: key)
    }

    /// The same checks over blocks already read.
    public static func verify(
        root: CID, blocks: [CID: [UInt8]], expectedDID: DID? = nil, key: PublicKey? = nil
    ) throws -> RepoVerification {
        let store = MemoryBlockStore(blocks)
        let repo = try Repository(did: expectedDID, commitCID: root, store: store)
        if let key, !repo.commit.verify(with: key) { throw RepoError.badSignature }

        // One walk proves the MST canonical (so `data` is the root of exactly
        // these entries) and finds every record.
        var recordCount = 0
        var collections: [String: Int] = [:]
        try repo.tree().validate { path, cid in
            guard blocks[cid] != nil else { throw RepoError.missingBlock(cid) }
            recordCount += 1
            collections[String(path.prefix { $0 != "/" }), default: 0] += 1
        }
        return RepoVerification(
            did: repo.did, rev: repo.commit.rev, commitCID: root, data: repo.commit.data,
            recordCount: recordCount, blockCount: blocks.count, signatureVerified: key != nil,
            collections: collections)
    }

    /// Verifies one commit as a sync 1.1 `#commit` event presents it: the
    /// commit block is in `blocks` and signed by `key`, each operation's
    /// record is where the new tree says, and undoing the operations with
    /// only `blocks` gives `prevData`.
    /// - Returns: the verified commit.
    @discardableResult
    public static func verifyCommit(
        commitCID: CID, blocks: [CID: [UInt8]], ops: [RepoOperation], prevData: CID?, key: PublicKey?,
        expectedDID: DID? = nil
    ) throws -> SignedCommit {
        let store = MemoryBlockStore(blocks)
        let repo = try Repository(did: expectedDID, commitCID: commitCID, store: store)
        if let key, !repo.commit.verify(with: key) { throw RepoError.badSignature }
        let tree = try repo.tree()
        for op in ops {
            let found = try tree.get(op.path)
            guard found == op.cid else {
                throw RepoError.operationMismatch("\(op.path) is \(found?.string ?? "absent") in the tree, not \(op.cid?.string ?? "absent")")
            }
            if let cid = op.cid, blocks[cid] == nil {
                throw RepoError.operationMismatch("the record block \(cid) of \(op.path) is not included")
            }
        }
        if let prevData {
            let inverted = try MerkleSearchTree.invert(
                operations: ops.map { MSTOperation(key: $0.path, cid: $0.cid, previous: $0.prev) },
                root: repo.commit.data, store: store)
            guard inverted == prevData else { throw RepoError.rootMismatch(expected: prevData, computed: inverted) }
        }
        return repo.commit
    }
}
