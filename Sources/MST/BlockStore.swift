import ATProto
import Synchronization

/// Where MST nodes and records are read from, by CID.
///
/// Calls are synchronous: implementations are in-memory maps or SQLite reads
/// that take microseconds, and the tree walks many small nodes in a row.
public protocol BlockStore: Sendable {
    /// The bytes of the block, or nil when the store does not have it.
    func getBlock(_ cid: CID) throws -> [UInt8]?

    /// Where trees reading this store keep the nodes they decode, or nil
    /// (the default) to decode a node at every read.
    var nodeMemo: MSTNodeMemo? { get }

    /// A tree took the node `cid` from ``nodeMemo`` instead of reading it
    /// here. Stores that record what is read record it (the default does
    /// nothing).
    func noteMemoRead(_ cid: CID) throws
}

extension BlockStore {
    public var nodeMemo: MSTNodeMemo? { nil }
    public func noteMemoRead(_ cid: CID) throws {}
}

/// A block store that also accepts new blocks.
public protocol WritableBlockStore: BlockStore {
    /// Stores `bytes` under `cid`; the caller guarantees they match.
    func putBlock(_ cid: CID, bytes: [UInt8]) throws
}

/// A thread-safe in-memory block store, for tests, tools and building trees.
public final class MemoryBlockStore: WritableBlockStore {
    private let blocks: Mutex<[CID: [UInt8]]>

    public init(_ blocks: [CID: [UInt8]] = [:]) {
        self.blocks = Mutex(blocks)
    }

    public func getBlock(_ cid: CID) throws -> [UInt8]? {
        blocks.withLock { $0[cid] }
    }

    public func putBlock(_ cid: CID, bytes: [UInt8]) throws {
        blocks.withLock { $0[cid] = bytes }
    }

    /// Stores many blocks at once.
    public func putBlocks(_ new: [CID: [UInt8]]) {
        blocks.withLock { $0.merge(new) { old, _ in old } }
    }

    /// How many blocks are stored.
    public var count: Int { blocks.withLock { $0.count } }

    /// A copy of every stored block.
    public var allBlocks: [CID: [UInt8]] { blocks.withLock { $0 } }
}

/// Wraps a store and remembers every block read through it: the blocks an
/// operation needed are exactly the proof that lets someone else repeat it.
public final class RecordingBlockStore: BlockStore {
    private let base: any BlockStore
    private let seen: Mutex<[CID: [UInt8]]> = Mutex([:])

    public init(_ base: any BlockStore) {
        self.base = base
    }

    public func getBlock(_ cid: CID) throws -> [UInt8]? {
        guard let bytes = try base.getBlock(cid) else { return nil }
        seen.withLock { $0[cid] = bytes }
        return bytes
    }

    public var nodeMemo: MSTNodeMemo? { base.nodeMemo }

    public func noteMemoRead(_ cid: CID) throws {
        _ = try getBlock(cid)
    }

    /// The blocks read so far.
    public var recorded: [CID: [UInt8]] { seen.withLock { $0 } }
}

/// A store that sees some new blocks in front of a base store: a commit's
/// blocks before they are written.
public struct OverlayBlockStore: BlockStore {
    private let base: any BlockStore
    private let overlay: [CID: [UInt8]]

    public init(_ overlay: [CID: [UInt8]], over base: any BlockStore) {
        self.base = base
        self.overlay = overlay
    }

    public func getBlock(_ cid: CID) throws -> [UInt8]? {
        if let bytes = overlay[cid] { return bytes }
        return try base.getBlock(cid)
    }

    public var nodeMemo: MSTNodeMemo? { base.nodeMemo }

    public func noteMemoRead(_ cid: CID) throws {
        if overlay[cid] == nil { try base.noteMemoRead(cid) }
    }
}
