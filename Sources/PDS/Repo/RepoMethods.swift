import ATProto
import Foundation
import Repo
import ServiceStorage

/// `com.atproto.repo.*`: writing and reading records.
enum RepoMethods {
    static func register(_ methods: inout XRPCMethods) {
        methods.procedure("com.atproto.repo.createRecord", createRecord)
        methods.procedure("com.atproto.repo.putRecord", putRecord)
        methods.procedure("com.atproto.repo.deleteRecord", deleteRecord)
        methods.procedure("com.atproto.repo.applyWrites", applyWrites)
        methods.query("com.atproto.repo.getRecord", getRecord)
        methods.query("com.atproto.repo.listRecords", listRecords)
        methods.query("com.atproto.repo.describeRepo", describeRepo)
    }

    // MARK: - Inputs

    /// The account a `repo` parameter (DID or handle) names.
    static func account(_ identifier: String, services: PDSServices) async throws -> Account {
        guard ATIdentifier.isValid(identifier), let account = try await services.accounts.account(identifier: identifier),
            account.status != .deleted
        else { throw XRPCError.notFound("RepoNotFound", "Could not find repo: \(identifier)") }
        return account
    }

    /// A hosted account whose records may be read by anyone: not deleted,
    /// not taken down (a deactivated one still is, as in the reference PDS).
    static func readableAccount(_ identifier: String, services: PDSServices) async throws -> Account {
        let account = try await account(identifier, services: services)
        try refuseTakendown(account)
        return account
    }

    /// `RepoTakendown` for a taken-down account.
    static func refuseTakendown(_ account: Account) throws(XRPCError) {
        if account.status == .takendown { throw XRPCError(.badRequest, "RepoTakendown", "Repo has been takendown: \(account.did)") }
    }

    /// The authenticated user, who must own `repo`.
    /// Each write checks an OAuth token's `repo:` permission for its
    /// collection and action itself.
    static func writer(_ call: XRPCCall, repo: String) async throws -> AuthenticatedUser {
        let user = try await call.authenticate(checksPermissions: true)
        // Most clients name their own repo by DID or handle: no second lookup then.
        if repo == user.did.string || repo.lowercased() == user.account.handle.string { return user }
        let target = try await account(repo, services: call.services)
        guard target.did == user.did else { throw XRPCError.forbidden("Cannot write to another account's repository") }
        return user
    }

    static func collection(_ value: String) throws(XRPCError) -> NSID {
        guard let collection = try? NSID(value) else { throw .invalidRequest("Invalid collection: \(value) is not an NSID") }
        return collection
    }

    static func recordKey(_ value: String) throws(XRPCError) -> RecordKey {
        guard let rkey = try? RecordKey(value) else { throw .invalidRequest("Invalid record key: \(value)") }
        return rkey
    }

    static func cid(_ value: String?, name: String) throws(XRPCError) -> CID? {
        guard let value else { return nil }
        do {
            return try CID(string: value)
        } catch {
            throw .invalidRequest("\(name) is not a valid CID: \(value)")
        }
    }

    static func record(_ input: DataMap) throws(XRPCError) -> DataValue {
        guard let value = input["record"] else { throw .invalidRequest("Input must have the property \"record\"") }
        return value
    }

    static func commitMeta(_ result: CommitResult) -> DataValue {
        ["cid": .string(result.commitCID.string), "rev": .string(result.rev)]
    }

    static func uri(_ did: DID, _ collection: NSID, _ rkey: RecordKey) -> String {
        ATURI(authority: .did(did), collection: collection, recordKey: rkey).string
    }

    // MARK: - Writes

    static func createRecord(_ call: XRPCCall) async throws -> XRPCResult {
        let input = try await call.jsonBody()
        let user = try await writer(call, repo: try input.requiredString("repo"))
        let collection = try collection(try input.requiredString("collection"))
        try user.require(repo: collection, action: .create)
        let rkey = try input.optionalString("rkey").map { v throws(XRPCError) in try recordKey(v) }
            ?? RecordKey(call.services.tids.next())
        let (prepared, swapCommit) = try preparedWrite(input, collection: collection, rkey: rkey, services: call.services)
        let result = try await RepoCommits.commit(did: user.did, key: user.account.signingKey, swapCommit: swapCommit, services: call.services) { _ in
            [.create(collection: collection, rkey: rkey, record: prepared.record)]
        }
        return written(did: user.did, collection: collection, rkey: rkey, result: result, prepared: prepared)
    }

    /// What `createRecord` and `putRecord` both take from their input once
    /// the record's path is known: the record, checked and prepared for its
    /// collection, and the `swapCommit` CID when one is given.
    static func preparedWrite(_ input: DataMap, collection: NSID, rkey: RecordKey, services: PDSServices) throws
        -> (prepared: RecordRules.Prepared, swapCommit: String?)
    {
        let prepared = try RecordRules.prepare(
            collection: collection, rkey: rkey, record: try record(input), validate: try input.optionalBool("validate"),
            services: services)
        let swapCommit = try input.optionalString("swapCommit")
        _ = try cid(swapCommit, name: "swapCommit")
        return (prepared, swapCommit)
    }

    /// The answer of `createRecord` and `putRecord`: the record's URI and
    /// CID, the commit, and the validation status when the record was
    /// checked against a Lexicon.
    static func written(did: DID, collection: NSID, rkey: RecordKey, result: CommitResult, prepared: RecordRules.Prepared)
        -> XRPCResult
    {
        var body: DataMap = [
            "uri": .string(uri(did, collection, rkey)), "cid": .string(result.ops[0].cid!.string),
            "commit": commitMeta(result),
        ]
        if let status = prepared.validationStatus { body["validationStatus"] = .string(status) }
        return .json(.map(body))
    }

    static func putRecord(_ call: XRPCCall) async throws -> XRPCResult {
        let input = try await call.jsonBody()
        let user = try await writer(call, repo: try input.requiredString("repo"))
        let collection = try collection(try input.requiredString("collection"))
        // An upsert: it may create or replace, so it needs both.
        try user.require(repo: collection, action: .create)
        try user.require(repo: collection, action: .update)
        let rkey = try recordKey(try input.requiredString("rkey"))
        let (prepared, swapCommit) = try preparedWrite(input, collection: collection, rkey: rkey, services: call.services)
        // swapRecord: absent means no check; null means the record must not exist yet.
        let swapRecord: CID?? = try {
            switch input["swapRecord"] {
            case nil: return .none
            case .null?: return .some(nil)
            case .string(let s)?: return .some(try cid(s, name: "swapRecord"))
            default: throw XRPCError.invalidRequest("Input/swapRecord must be a string")
            }
        }()
        let result = try await RepoCommits.commit(did: user.did, key: user.account.signingKey, swapCommit: swapCommit, services: call.services) { repo in
            let current = try repo.recordCID(collection: collection, rkey: rkey)
            if let expected = swapRecord, expected != current {
                throw XRPCError(.badRequest, "InvalidSwap", "Record was at \(current?.string ?? "null")")
            }
            return current == nil
                ? [.create(collection: collection, rkey: rkey, record: prepared.record)]
                : [.update(collection: collection, rkey: rkey, record: prepared.record)]
        }
        return written(did: user.did, collection: collection, rkey: rkey, result: result, prepared: prepared)
    }

    static func deleteRecord(_ call: XRPCCall) async throws -> XRPCResult {
        let input = try await call.jsonBody()
        let user = try await writer(call, repo: try input.requiredString("repo"))
        let collection = try collection(try input.requiredString("collection"))
        try user.require(repo: collection, action: .delete)
        let rkey = try recordKey(try input.requiredString("rkey"))
        let swapCommit = try input.optionalString("swapCommit")
        _ = try cid(swapCommit, name: "swapCommit")
        let swapRecord = try cid(try input.optionalString("swapRecord"), name: "swapRecord")
        // Deleting a record that does not exist is not an error and writes no commit.
        let result: CommitResult
        do {
            result = try await RepoCommits.commit(did: user.did, key: user.account.signingKey, swapCommit: swapCommit, services: call.services) { repo in
                let current = try repo.recordCID(collection: collection, rkey: rkey)
                if let swapRecord, swapRecord != current {
                    throw XRPCError(.badRequest, "InvalidSwap", "Record was at \(current?.string ?? "null")")
                }
                guard current != nil else { throw NothingToDelete() }
                return [.delete(collection: collection, rkey: rkey)]
            }
        } catch is NothingToDelete {
            return .json([:])
        }
        return .json(["commit": commitMeta(result)])
    }

    struct NothingToDelete: Error {}

    static func applyWrites(_ call: XRPCCall) async throws -> XRPCResult {
        let input = try await call.jsonBody()
        let user = try await writer(call, repo: try input.requiredString("repo"))
        let validate = try input.optionalBool("validate")
        guard case .array(let items)? = input["writes"] else { throw XRPCError.invalidRequest("Input must have the property \"writes\"") }
        guard items.count <= RepoCommits.maxOperations else {
            throw XRPCError.invalidRequest("Too many writes: at most \(RepoCommits.maxOperations) per commit")
        }
        var writes: [RepoWrite] = []
        var statuses: [String?] = []
        for (i, item) in items.enumerated() {
            guard case .map(let w) = item, case .string(let type)? = w["$type"] else {
                throw XRPCError.invalidRequest("Input/writes/\(i) must be an object with $type")
            }
            let collection = try collection(try w.requiredString("collection"))
            switch type {
            case "com.atproto.repo.applyWrites#create":
                try user.require(repo: collection, action: .create)
                let rkey = try w.optionalString("rkey").map { v throws(XRPCError) in try recordKey(v) }
                    ?? RecordKey(call.services.tids.next())
                guard let value = w["value"] else { throw XRPCError.invalidRequest("Input/writes/\(i) must have value") }
                let prepared = try RecordRules.prepare(collection: collection, rkey: rkey, record: value, validate: validate, services: call.services)
                writes.append(.create(collection: collection, rkey: rkey, record: prepared.record))
                statuses.append(prepared.validationStatus)
            case "com.atproto.repo.applyWrites#update":
                try user.require(repo: collection, action: .update)
                let rkey = try recordKey(try w.requiredString("rkey"))
                guard let value = w["value"] else { throw XRPCError.invalidRequest("Input/writes/\(i) must have value") }
                let prepared = try RecordRules.prepare(collection: collection, rkey: rkey, record: value, validate: validate, services: call.services)
                writes.append(.update(collection: collection, rkey: rkey, record: prepared.record))
                statuses.append(prepared.validationStatus)
            case "com.atproto.repo.applyWrites#delete":
                try user.require(repo: collection, action: .delete)
                writes.append(.delete(collection: collection, rkey: try recordKey(try w.requiredString("rkey"))))
                statuses.append(nil)
            default:
                throw XRPCError.invalidRequest("Input/writes/\(i) has an unknown $type \(type)")
            }
        }
        let swapCommit = try input.optionalString("swapCommit")
        _ = try cid(swapCommit, name: "swapCommit")
        let finalWrites = writes
        let result = try await RepoCommits.commit(did: user.did, key: user.account.signingKey, swapCommit: swapCommit, services: call.services) { _ in finalWrites }
        var results: [DataValue] = []
        for (op, status) in zip(result.ops, statuses) {
            switch op.action {
            case .create, .update:
                var r: DataMap = [
                    "$type": .string("com.atproto.repo.applyWrites#\(op.action == .create ? "createResult" : "updateResult")"),
                    "uri": .string(ATURI.record(user.did, path: op.path).string), "cid": .string(op.cid!.string),
                ]
                if let status { r["validationStatus"] = .string(status) }
                results.append(.map(r))
            case .delete:
                results.append(["$type": "com.atproto.repo.applyWrites#deleteResult"])
            }
        }
        return .json(["commit": commitMeta(result), "results": .array(results)])
    }

    // MARK: - Reads

    static func getRecord(_ call: XRPCCall) async throws -> XRPCResult {
        let repoParam = try call.requiredParam("repo")
        guard ATIdentifier.isValid(repoParam) else { throw XRPCError.notFound("RepoNotFound", "Could not find repo: \(repoParam)") }
        let collection = try collection(try call.requiredParam("collection"))
        let rkey = try recordKey(try call.requiredParam("rkey"))
        let wanted = try cid(call.param("cid"), name: "cid")
        func recordNotFound(_ did: DID) -> XRPCError {
            XRPCError.notFound("RecordNotFound", "Could not locate record: \(uri(did, collection, rkey))")
        }
        let cache = call.services.recordCache
        let key = RecordReadCache.Key(repo: repoParam, collection: collection, rkey: rkey)
        if let cached = cache.answer(for: key) {
            guard wanted == nil || wanted == cached.cid else { throw recordNotFound(cached.did) }
            return .bytes(contentType: XRPCMethods.jsonContentType, cached.body)
        }
        let stamp = cache.stamp()
        // One read: the account, its repository and the record.
        let (did, record) = try await call.services.storage.read { tx -> (DID, (cid: CID, value: DataValue)?) in
            guard let account = try AccountStore.account(identifier: repoParam, in: tx), account.status != .deleted else {
                throw XRPCError.notFound("RepoNotFound", "Could not find repo: \(repoParam)")
            }
            try refuseTakendown(account)
            guard let (cid, bytes) = try RecordIndex.record(did: account.did, collection: collection, rkey: rkey, in: tx) else {
                return (account.did, nil)
            }
            guard let bytes else { throw XRPCError.from(RepoError.missingBlock(cid)) }
            return (account.did, (cid, try DAGCBOR.decode(bytes)))
        }
        guard let record else { throw recordNotFound(did) }
        let body = ATProtoJSON.encode(["uri": .string(uri(did, collection, rkey)), "cid": .string(record.cid.string), "value": record.value])
        cache.store(.init(did: did, cid: record.cid, body: body), for: key, readAt: stamp)
        guard wanted == nil || wanted == record.cid else { throw recordNotFound(did) }
        return .bytes(contentType: XRPCMethods.jsonContentType, body)
    }

    static func listRecords(_ call: XRPCCall) async throws -> XRPCResult {
        let account = try await readableAccount(try call.requiredParam("repo"), services: call.services)
        let collection = try collection(try call.requiredParam("collection"))
        let limit = try call.intParam("limit", default: 50, range: 1...100)
        let reverse = try call.boolParam("reverse", default: false)
        let cursor = call.param("cursor")
        if let cursor, !RecordKey.isValid(cursor) { throw XRPCError.invalidRequest("Invalid cursor") }
        let (records, lastRkey) = try await call.services.storage.read { tx -> ([DataValue], RecordKey?) in
            guard try RepoStorage.currentCommit(did: account.did, in: tx) != nil else {
                throw XRPCError.notFound("RepoNotFound", "Could not find repo: \(account.did)")
            }
            // Newest first (rkeys descending; TIDs sort by time), and oldest
            // first with `reverse`, as the reference PDS lists them and
            // clients page on (the index's own order is ascending).
            let entries = try RecordIndex.list(
                did: account.did, collection: collection, cursor: cursor, limit: limit, reverse: !reverse, in: tx)
            var records: [DataValue] = []
            records.reserveCapacity(entries.count)
            for (rkey, cid, bytes) in entries {
                guard let bytes else { throw RepoError.missingBlock(cid) }
                records.append(["uri": .string(uri(account.did, collection, rkey)), "cid": .string(cid.string), "value": try DAGCBOR.decode(bytes)])
            }
            return (records, entries.count == limit ? entries.last?.rkey : nil)
        }
        var body: DataMap = ["records": .array(records)]
        if let lastRkey { body["cursor"] = .string(lastRkey.string) }
        return .json(.map(body))
    }

    static func describeRepo(_ call: XRPCCall) async throws -> XRPCResult {
        let account = try await readableAccount(try call.requiredParam("repo"), services: call.services)
        let collections = try await call.services.storage.read { tx in try RepoStorage.collections(did: account.did, in: tx) }
        return .json([
            "handle": .string(account.handle.string), "did": .string(account.did.string),
            "didDoc": DIDDocument.of(account, services: call.services),
            "collections": .array(collections.map { .string($0.string) }), "handleIsCorrect": true,
        ])
    }
}
