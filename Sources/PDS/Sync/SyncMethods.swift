import ATProto
import CAR
import Foundation
import MST
import Repo
import ServiceStorage

/// `com.atproto.sync.*` reads: what relays and other services fetch.
enum SyncMethods {
    static func register(_ methods: inout XRPCMethods) {
        methods.query("com.atproto.sync.getRepo", getRepo)
        methods.query("com.atproto.sync.getLatestCommit", getLatestCommit)
        methods.query("com.atproto.sync.getRepoStatus", getRepoStatus)
        methods.query("com.atproto.sync.listRepos", listRepos)
        methods.query("com.atproto.sync.getRecord", getRecord)
        methods.query("com.atproto.sync.getBlocks", getBlocks)
        // Deprecated, still called by older tools: the head commit's CID,
        // and the whole repository (getRepo without `since`).
        methods.query("com.atproto.sync.getHead", getHead)
        methods.query("com.atproto.sync.getCheckout", getCheckout)
    }

    /// A hosted account that sync may serve: takendown and deleted accounts
    /// are not served; deactivated ones neither (reference PDS behaviour).
    static func servable(_ call: XRPCCall) async throws -> Account {
        let rawDID = try call.requiredParam("did")
        guard let did = try? DID(rawDID), let account = try await call.services.accounts.account(did: did), account.status != .deleted
        else { throw XRPCError.notFound("RepoNotFound", "Could not find repo for DID: \(rawDID)") }
        switch account.status {
        case .takendown: throw XRPCError(.badRequest, "RepoTakendown", "Repo has been takendown: \(did)")
        case .deactivated: throw XRPCError(.badRequest, "RepoDeactivated", "Repo has been deactivated: \(did)")
        default: return account
        }
    }

    static func getRepo(_ call: XRPCCall) async throws -> XRPCResult {
        let account = try await servable(call)
        let since = call.param("since")
        if let since, !TID.isValid(since) { throw XRPCError.invalidRequest("since must be a TID (a repo rev)") }
        let repos = call.services.repos
        let did = account.did
        return .stream(
            contentType: "application/vnd.ipld.car",
            CARStream.body { sink in try repos.exportCAR(did: did, since: since, sink: sink) })
    }

    static func getLatestCommit(_ call: XRPCCall) async throws -> XRPCResult {
        let account = try await servable(call)
        guard let head = try await call.services.storage.read({ tx in try RepoStorage.currentCommit(did: account.did, in: tx) })
        else {
            throw XRPCError.notFound("RepoNotFound", "Could not find root for DID: \(account.did)")
        }
        return .json(["cid": .string(head.cid.string), "rev": .string(head.rev)])
    }

    static func getHead(_ call: XRPCCall) async throws -> XRPCResult {
        let account = try await servable(call)
        guard let head = try await call.services.storage.read({ tx in try RepoStorage.currentCommit(did: account.did, in: tx) })
        else {
            throw XRPCError(.badRequest, "HeadNotFound", "Could not find root for DID: \(account.did)")
        }
        return .json(["root": .string(head.cid.string)])
    }

    static func getCheckout(_ call: XRPCCall) async throws -> XRPCResult {
        let account = try await servable(call)
        let repos = call.services.repos
        let did = account.did
        return .stream(contentType: "application/vnd.ipld.car", CARStream.body { sink in try repos.exportCAR(did: did, since: nil, sink: sink) })
    }

    static func getRepoStatus(_ call: XRPCCall) async throws -> XRPCResult {
        let rawDID = try call.requiredParam("did")
        guard let did = try? DID(rawDID), let account = try await call.services.accounts.account(did: did), account.status != .deleted
        else {
            throw XRPCError.notFound("RepoNotFound", "Could not find repo for DID: \(rawDID)")
        }
        var body: DataMap = ["did": .string(did.string), "active": .bool(account.status == .active)]
        if account.status != .active { body["status"] = .string(account.status.rawValue) }
        if account.status == .active,
            let head = try await call.services.storage.read({ tx in try RepoStorage.currentCommit(did: did, in: tx) })
        {
            body["rev"] = .string(head.rev)
        }
        return .json(.map(body))
    }

    static func listRepos(_ call: XRPCCall) async throws -> XRPCResult {
        let limit = try call.intParam("limit", default: 500, range: 1...1000)
        let cursor = call.param("cursor") ?? ""
        let rows = try await call.services.storage.read { tx in try AccountStore.repositories(after: cursor, limit: limit, in: tx) }
        var repos: [DataValue] = []
        for row in rows {
            var entry: DataMap = [
                "did": .string(row.did.string), "head": .string(row.head.string), "rev": .string(row.rev),
                "active": .bool(row.status == "active"),
            ]
            if row.status != "active" { entry["status"] = .string(row.status) }
            repos.append(.map(entry))
        }
        var body: DataMap = ["repos": .array(repos)]
        if rows.count == limit, let last = rows.last { body["cursor"] = .string(last.did.string) }
        return .json(.map(body))
    }

    /// A CAR proving one record (or its absence): the commit, the MST path
    /// and the record block.
    static func getRecord(_ call: XRPCCall) async throws -> XRPCResult {
        let account = try await servable(call)
        let collection = try RepoMethods.collection(try call.requiredParam("collection"))
        let rkey = try RepoMethods.recordKey(try call.requiredParam("rkey"))
        let path = collection.string + "/" + rkey.string
        let (commitCID, ordered) = try await call.services.storage.read { tx -> (CID, [(cid: CID, bytes: [UInt8])]) in
            let repo = try RepoCommits.existingRepository(did: account.did, in: tx)
            var blocks = try MerkleSearchTree.pathProof(key: path, root: repo.commit.data, store: repo.store)
            if let cid = try repo.tree().get(path), let bytes = try repo.store.getBlock(cid) { blocks[cid] = bytes }
            blocks[repo.commitCID] = nil
            return (repo.commitCID, [(repo.commitCID, repo.commit.bytes)] + blocks.map { ($0.key, $0.value) })
        }
        return .bytes(contentType: "application/vnd.ipld.car", CARWriter.bytes(roots: [commitCID], blocks: ordered))
    }

    static func getBlocks(_ call: XRPCCall) async throws -> XRPCResult {
        let account = try await servable(call)
        let names = call.params("cids")
        guard !names.isEmpty else { throw XRPCError.invalidRequest("Error: Params must have the property \"cids\"") }
        guard names.count <= 1000 else { throw XRPCError.invalidRequest("at most 1000 cids") }
        var cids: [CID] = []
        for name in names {
            guard let cid = try? CID(string: name) else { throw XRPCError.invalidRequest("Invalid CID: \(name)") }
            cids.append(cid)
        }
        let did = account.did
        let wanted = cids
        let (blocks, missing) = try await call.services.storage.read { tx -> ([(cid: CID, bytes: [UInt8])], [String]) in
            let store = DatabaseBlockStore(did: did, in: tx)
            var blocks: [(cid: CID, bytes: [UInt8])] = []
            var missing: [String] = []
            for cid in wanted {
                if let bytes = try store.getBlock(cid) { blocks.append((cid, bytes)) } else { missing.append(cid.string) }
            }
            return (blocks, missing)
        }
        guard missing.isEmpty else {
            throw XRPCError.notFound("BlockNotFound", "Could not find cids: \(missing.joined(separator: ", "))")
        }
        return .bytes(contentType: "application/vnd.ipld.car", CARWriter.bytes(roots: [], blocks: blocks))
    }
}
