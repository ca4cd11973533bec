import ATProto
import CAR
import Foundation
import GRDB
import MST
import ServiceStorage

/// Hosted repositories in SQLite: their blocks, current commits and record
/// index. Each commit is written in one transaction, and only if the
/// repository is still at the commit it was built on, so two concurrent
/// writers can never fork a repository.
public final class RepoStorage: Sendable {
    public let pool: DatabasePool

    public init(pool: DatabasePool) {
        self.pool = pool
    }

    /// The blocks of one repository.
    public func blockStore(did: DID) -> SQLiteBlockStore {
        SQLiteBlockStore(did: did, reader: pool)
    }

    /// The current commit of a repository, or nil when it is not hosted.
    public func currentCommit(did: DID) throws -> (cid: CID, rev: String)? {
        try pool.read { db in try RepoStorage.currentCommit(did: did, db: db) }
    }

    /// The current commit of a repository, read through an open connection.
    public static func currentCommit(did: DID, db: Database) throws -> (cid: CID, rev: String)? {
        let statement = try db.cachedStatement(sql: "SELECT cid, rev FROM repo_root WHERE did = ?")
        guard let row = try Row.fetchOne(statement, arguments: [did]) else { return nil }
        let data: Data = row["cid"]
        return (try CID(bytes: [UInt8](data)), row["rev"])
    }

    /// The repository at its current commit, or nil when it is not hosted.
    public func repository(did: DID) throws -> Repository? {
        guard let head = try currentCommit(did: did) else { return nil }
        return try Repository(did: did, commitCID: head.cid, store: blockStore(did: did))
    }

    /// The repository at its current commit, read through an open connection
    /// (see ``DatabaseBlockStore``, which also says what `nodeCache` is
    /// for): valid only inside that GRDB closure.
    public static func repository(did: DID, db: Database, nodeCache: MSTNodeCache? = nil) throws -> Repository? {
        guard let head = try currentCommit(did: did, db: db) else { return nil }
        return try Repository(
            did: did, commitCID: head.cid, store: DatabaseBlockStore(did: did, db: db, nodeCache: nodeCache))
    }

    /// The most blocks one statement inserts or removes (a commit has ~10;
    /// each batch size is a statement of its own in the connection's cache).
    static let maxBlocksPerStatement = 32

    /// The statement inserting `n` blocks, at index `n - 1`: ?1 is the DID,
    /// ?2 the rev, and each block has three values of its own.
    private static let insertBlocksSQL: [String] = (1...maxBlocksPerStatement).map { n in
        let rows = (0..<n).map { "(?1, ?\(3 + 3 * $0), ?2, ?\(4 + 3 * $0), ?\(5 + 3 * $0))" }
        return "INSERT OR IGNORE INTO blockstore (did, cid, rev, size, content) VALUES " + rows.joined(separator: ", ")
    }

    /// The statement removing `n` blocks of the DID ?1, at index `n - 1`. A
    /// removed record block stays while another record has the same CID.
    private static let removeBlocksSQL: [String] = (1...maxBlocksPerStatement).map { n in
        let keys = (0..<n).map { "?\($0 + 2)" }.joined(separator: ", ")
        return """
            DELETE FROM blockstore WHERE did = ?1 AND cid IN (\(keys))
            AND NOT EXISTS (SELECT 1 FROM record r WHERE r.did = ?1 AND r.cid = blockstore.cid)
            """
    }

    /// Writes a commit: new blocks, removed blocks, the record index and the
    /// new root, all or nothing.
    public func apply(_ result: CommitResult) throws {
        try pool.write { db in try RepoStorage.apply(result, db: db) }
    }

    /// The same inside a caller's transaction (so other tables, such as the
    /// event log, change atomically with the repository).
    public static func apply(_ result: CommitResult, db: Database) throws {
        let did = result.did
        let current = try currentCommit(did: did, db: db)
        guard current?.cid == result.prevCommit else { throw RepoError.concurrentWrite(did) }
        let now = ATDatetime.format(Date())
        // Blocks are inserted and removed a statement per batch, not per
        // block: each statement costs its own binding and bookkeeping.
        for batch in Array(result.newBlocks).chunked(maxBlocksPerStatement) {
            var arguments: StatementArguments = [did, result.rev]
            for (cid, bytes) in batch {
                arguments += [Data(cid.bytes), bytes.count, Data(bytes)]
            }
            try db.cachedStatement(sql: insertBlocksSQL[batch.count - 1]).execute(arguments: arguments)
        }
        let upsertRecord = try db.cachedStatement(
            sql: """
                INSERT INTO record (did, collection, rkey, cid, rev, indexed_at) VALUES (?, ?, ?, ?, ?, ?)
                ON CONFLICT (did, collection, rkey) DO UPDATE SET cid = excluded.cid, rev = excluded.rev,
                indexed_at = excluded.indexed_at
                """)
        let deleteRecord = try db.cachedStatement(sql: "DELETE FROM record WHERE did = ? AND collection = ? AND rkey = ?")
        for op in result.ops {
            let parts = op.path.split(separator: "/", maxSplits: 1).map(String.init)
            if let cid = op.cid {
                try upsertRecord.execute(arguments: [did, parts[0], parts[1], Data(cid.bytes), result.rev, now])
            } else {
                try deleteRecord.execute(arguments: [did, parts[0], parts[1]])
            }
        }
        for batch in Array(result.removedBlocks).chunked(maxBlocksPerStatement) {
            var arguments: StatementArguments = [did]
            for cid in batch { arguments += [Data(cid.bytes)] }
            try db.cachedStatement(sql: removeBlocksSQL[batch.count - 1]).execute(arguments: arguments)
        }
        try db.cachedStatement(
            sql: """
                INSERT INTO repo_root (did, cid, rev, indexed_at) VALUES (?, ?, ?, ?)
                ON CONFLICT (did) DO UPDATE SET cid = excluded.cid, rev = excluded.rev, indexed_at = excluded.indexed_at
                """
        ).execute(arguments: [did, Data(result.commitCID.bytes), result.rev, now])
    }

    /// Replaces a repository with the one in a CAR (after verifying it and
    /// checking it against `rules`), as `importRepo` and `pds repo import`
    /// do. `alsoInTransaction` runs last in the import's transaction with the
    /// repository's DID (for indexes over the records, such as the PDS's
    /// blob usage), so they change atomically with the repository.
    @discardableResult
    public func importCAR<Source: CARByteSource>(
        _ source: Source, expectedDID: DID? = nil, rules: RepoImportRules = .none,
        alsoInTransaction: ((WriteTransaction, _ did: DID) throws -> Void)? = nil
    ) throws -> RepoVerification {
        var reader = try CARReader(source: source)
        guard let root = reader.roots.first, reader.roots.count == 1 else { throw RepoError.noRoot }
        let blocks = try reader.readAll()
        let verification = try RepoVerifier.verify(root: root, blocks: blocks, expectedDID: expectedDID)
        let did = verification.did
        let repo = try Repository(did: did, commitCID: root, store: MemoryBlockStore(blocks))
        try rules.checkSignature(repo.commit)
        try rules.checkNotInFuture(repo.commit.rev)
        let tree = try repo.tree()
        // Keep only what the repository references: its commit, nodes and records.
        var live: [CID: [UInt8]] = [root: blocks[root]!]
        try tree.forEachNode { cid, bytes in live[cid] = bytes }
        var records: [(path: String, cid: CID)] = []
        try tree.forEach { path, cid in
            records.append((path, cid))
            live[cid] = blocks[cid]
            return true
        }
        let now = ATDatetime.format(Date())
        try pool.write { db in
            // Against the stored repository as this transaction sees it, so
            // a commit that lands meanwhile is not rolled back either.
            if let current = try RepoStorage.currentCommit(did: did, db: db) {
                let hasRecords =
                    try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM record WHERE did = ?)", arguments: [did]) ?? false
                try rules.checkReplaces(current: current.rev, storedHasRecords: hasRecords, with: repo.commit.rev)
            }
            for table in ["blockstore", "record", "repo_root"] {
                try db.execute(sql: "DELETE FROM \(table) WHERE did = ?", arguments: [did])
            }
            let insert = try db.cachedStatement(
                sql: "INSERT INTO blockstore (did, cid, rev, size, content) VALUES (?, ?, ?, ?, ?)")
            for (cid, bytes) in live {
                try insert.execute(arguments: [did, Data(cid.bytes), repo.commit.rev, bytes.count, Data(bytes)])
            }
            let record = try db.cachedStatement(
                sql: "INSERT INTO record (did, collection, rkey, cid, rev, indexed_at) VALUES (?, ?, ?, ?, ?, ?)")
            for (path, cid) in records {
                let parts = path.split(separator: "/", maxSplits: 1).map(String.init)
                try record.execute(arguments: [did, parts[0], parts[1], Data(cid.bytes), repo.commit.rev, now])
            }
            try db.execute(
                sql: "INSERT INTO repo_root (did, cid, rev, indexed_at) VALUES (?, ?, ?, ?)",
                arguments: [did, Data(root.bytes), repo.commit.rev, now])
            try alsoInTransaction?(WriteTransaction(db), did)
        }
        return verification
    }

    /// Streams a repository as a CAR: the commit first, then every block (or,
    /// with `since`, only blocks written by later revs).
    ///
    /// The export reads through a snapshot connection of its own rather than
    /// one of the pool's readers: `sink` may wait for a slow client, and a
    /// pool reader held that long could leave requests waiting for one.
    public func exportCAR(did: DID, since: String? = nil, sink: @escaping ([UInt8]) throws -> Void) throws {
        try pool.makeSnapshot().read { db in
            guard let head = try RepoStorage.currentCommit(did: did, db: db) else { throw RepoError.noRoot }
            guard let commitBytes = try SQLiteBlockStore.getBlock(head.cid, did: did, db: db) else {
                throw RepoError.missingBlock(head.cid)
            }
            var writer = CARWriter(roots: [head.cid], sink: sink)
            try writer.write(cid: head.cid, bytes: commitBytes)
            let headKey = Data(head.cid.bytes)
            let rows = try Row.fetchCursor(
                db, sql: "SELECT cid, content FROM blockstore WHERE did = ? AND rev > ? AND cid != ?",
                arguments: [did, since ?? "", headKey])
            while let row = try rows.next() {
                try row.withUnsafeData(atIndex: 0) { cid in
                    try row.withUnsafeData(atIndex: 1) { content in
                        guard let cid, let content else { return }
                        try writer.writeRaw(cidBytes: cid, bytes: content)
                    }
                }
            }
            try writer.finish()
        }
    }
}

extension Array {
    /// The elements in consecutive slices of at most `size`.
    fileprivate func chunked(_ size: Int) -> [ArraySlice<Element>] {
        stride(from: 0, to: count, by: size).map { self[$0..<Swift.min($0 + size, count)] }
    }
}
