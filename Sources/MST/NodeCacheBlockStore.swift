import ATProto

/// The blocks an ``MSTNodeCache`` holds, read as a block store: for
/// building a commit from memory alone, away from the database. A block
/// the cache does not hold reads as missing, so a tree that needs it fails
/// with ``MSTError/missingBlock(_:)`` and the caller builds the commit from
/// the database instead.
public struct NodeCacheBlockStore: BlockStore {
    public let cache: MSTNodeCache
    public let nodeMemo: MSTNodeMemo?

    public init(cache: MSTNodeCache) {
        self.cache = cache
        nodeMemo = MSTNodeMemo(shared: cache)
    }

    public func getBlock(_ cid: CID) throws -> [UInt8]? {
        cache.bytes(cid)
    }
}
