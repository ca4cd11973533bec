import ATProto
import MST

/// Everything one commit produced: what storage must write and remove, and
/// what the firehose must announce.
public struct CommitResult: Sendable {
    public let did: DID
    public let commit: SignedCommit
    public let commitCID: CID
    /// The rev of the previous commit; nil for the first one.
    public let since: String?
    /// The MST root of the previous commit; nil for the first one.
    public let prevData: CID?
    /// The CID of the previous commit block; nil for the first one.
    public let prevCommit: CID?
    /// The record changes, in the order they were asked for.
    public let ops: [RepoOperation]
    /// New blocks: the commit, new records and new MST nodes.
    public let newBlocks: [CID: [UInt8]]
    /// Blocks the repository no longer references: replaced MST nodes, the
    /// previous commit, and the records deleted or replaced (storage keeps a
    /// record block that another path still references).
    public let removedBlocks: Set<CID>
    /// The commit, the new records and the MST nodes that let a consumer
    /// verify the operations against `prevData` (sync 1.1 `#commit` blocks).
    public let firehoseBlocks: [CID: [UInt8]]

    public var rev: String { commit.rev }
    public var data: CID { commit.data }
}
