import ATProto
import Foundation
import Repo
import ServiceStorage

/// Writes and reads records of repositories hosted on this PDS for code
/// outside the XRPC handlers (the Atrarium dashboard API). Writes take the
/// same path as `com.atproto.repo.applyWrites`: each record is validated
/// against its Lexicon (an unknown collection is refused), the writes are
/// committed as one commit under the repository's write lock, stored,
/// sequenced and announced on the firehose. A write that fails leaves the
/// repository as it was.
public struct LocalRepoWriter: Sendable {
    /// One write of a commit.
    public enum Operation: Sendable {
        /// A new record; a TID record key when `rkey` is nil.
        case create(collection: NSID, rkey: RecordKey?, record: DataValue)
        /// Replaces a record (creating it when absent); when `swapRecord`
        /// is given, the record must currently have that CID.
        case update(collection: NSID, rkey: RecordKey, record: DataValue, swapRecord: CID? = nil)
        /// Deletes a record.
        case delete(collection: NSID, rkey: RecordKey)
    }

    /// One written record.
    public struct Written: Sendable, Equatable {
        public let uri: ATURI
        public let collection: NSID
        public let rkey: RecordKey
        /// The new record's CID; nil for a delete.
        public let cid: CID?

        public init(uri: ATURI, collection: NSID, rkey: RecordKey, cid: CID?) {
            self.uri = uri
            self.collection = collection
            self.rkey = rkey
            self.cid = cid
        }
    }

    /// The commit of a write.
    public struct Result: Sendable {
        public let commitCID: CID
        public let rev: String
        public let written: [Written]

        public init(commitCID: CID, rev: String, written: [Written]) {
            self.commitCID = commitCID
            self.rev = rev
            self.written = written
        }
    }

    let services: PDSServices

    public init(services: PDSServices) {
        self.services = services
    }

    /// The account `did` when it is hosted here (in any status but deleted).
    public func hostedAccount(did: DID) async throws -> Account? {
        guard let account = try await services.accounts.account(did: did), account.status != .deleted else { return nil }
        return account
    }

    /// Validates and commits `operations` to the repository of `did`.
    /// - Throws: `XRPCError` (invalid record, rate limit, swap mismatch, no such repository).
    public func apply(did: DID, _ operations: [Operation]) async throws -> Result {
        guard let account = try await hostedAccount(did: did), account.status == .active else {
            throw XRPCError.notFound("RepoNotFound", "Could not find an active repository for \(did) on this server")
        }
        var writes: [RepoWrite] = []
        var swaps: [(collection: NSID, rkey: RecordKey, cid: CID)] = []
        for operation in operations {
            switch operation {
            case .create(let collection, let rkey, let record):
                let key = rkey ?? RecordKey(services.tids.next())
                let prepared = try RecordRules.prepare(collection: collection, rkey: key, record: record, validate: true, services: services)
                writes.append(.create(collection: collection, rkey: key, record: prepared.record))
            case .update(let collection, let rkey, let record, let swap):
                let prepared = try RecordRules.prepare(collection: collection, rkey: rkey, record: record, validate: true, services: services)
                writes.append(.update(collection: collection, rkey: rkey, record: prepared.record))
                if let swap { swaps.append((collection, rkey, swap)) }
            case .delete(let collection, let rkey):
                writes.append(.delete(collection: collection, rkey: rkey))
            }
        }
        let planned = writes
        let checks = swaps
        let result = try await RepoCommits.commit(did: did, key: account.signingKey, swapCommit: nil, services: services) { repo in
            for check in checks {
                let current = try repo.recordCID(collection: check.collection, rkey: check.rkey)
                guard current == check.cid else {
                    throw XRPCError(.conflict, "InvalidSwap", "Record was at \(current?.string ?? "null"), not \(check.cid.string)")
                }
            }
            // An update of an absent record creates it.
            return try planned.map { write in
                if case .update(let collection, let rkey, let record) = write, try repo.recordCID(collection: collection, rkey: rkey) == nil {
                    return .create(collection: collection, rkey: rkey, record: record)
                }
                return write
            }
        }
        let written = result.ops.map { op in
            let uri = ATURI.record(did, path: op.path)
            return Written(uri: uri, collection: uri.collection!, rkey: uri.recordKey!, cid: op.cid)
        }
        return Result(commitCID: result.commitCID, rev: result.rev, written: written)
    }

    /// One record of a hosted repository, or nil.
    public func record(did: DID, collection: NSID, rkey: RecordKey) async throws -> (cid: CID, value: DataValue)? {
        try await services.storage.read { tx -> (cid: CID, value: DataValue)? in
            guard let repo = try RepoStorage.repository(did: did, in: tx),
                let found = try repo.record(collection: collection, rkey: rkey)
            else { return nil }
            return (found.cid, found.value)
        }
    }
}
