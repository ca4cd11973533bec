import ATProto
import FeedGen
import HTTPTypes
import PDS

/// How a dashboard write went: committed to a repository on this PDS, or
/// handed back to a caller whose repository is elsewhere.
enum WriteOutcome: Sendable {
    case committed(LocalRepoWriter.Result)
    case client(DashboardAnswer)
}

extension DashboardAPI {
    /// Checks each record against its Lexicon (and the Atrarium rules), then
    /// commits the writes to the caller's repository when it is hosted
    /// here; otherwise answers `202` with the writes the caller's client
    /// must make in its own repository (an `applyWrites`-shaped list).
    func write(_ caller: DashboardCaller, _ operations: [LocalRepoWriter.Operation]) async throws -> WriteOutcome {
        // Give creates their record keys now, so both paths name the same records.
        let keyed: [LocalRepoWriter.Operation] = operations.map { operation in
            if case .create(let collection, nil, let record) = operation {
                return .create(collection: collection, rkey: RecordKey(services.tids.next()), record: record)
            }
            return operation
        }
        for operation in keyed {
            switch operation {
            case .create(let collection, _, let record), .update(let collection, _, let record, _):
                if collection.string.hasPrefix("net.atrarium.") { try AtrariumRecords.validate(record, collection: collection) }
            case .delete: break
            }
        }
        if caller.isLocal { return .committed(try await writer.apply(did: caller.did, keyed)) }
        let writes = Self.applyWritesList(keyed)
        if let remote = caller.remote { return .committed(try await Self.applyRemotely(writes, keyed, for: caller.did, with: remote)) }
        return .client(
            DashboardAnswer(
                status: .accepted,
                [
                    "write": "client", "repo": .string(caller.did.string), "writes": .array(writes),
                    "message": "Your repository is not on this server: write these records with com.atproto.repo.applyWrites on your PDS.",
                ]))
    }

    /// Commits `writes` to the caller's repository on its own PDS with
    /// `com.atproto.repo.applyWrites`, through its OAuth session.
    static func applyRemotely(
        _ writes: [DataValue], _ operations: [LocalRepoWriter.Operation], for did: DID, with remote: DashboardCaller.RemoteSession
    ) async throws -> LocalRepoWriter.Result {
        let reply: (status: Int, body: DataValue?)
        do {
            reply = try await remote.agent.procedure(
                remote.session, "com.atproto.repo.applyWrites", input: ["repo": .string(did.string), "writes": .array(writes)])
        } catch .sessionEnded {
            throw DashboardError.unauthorized("AuthenticationRequired", "your sign-in with your PDS has ended; sign in again")
        } catch {
            throw DashboardError(.badGateway, "UpstreamFailure", "your PDS could not be reached: \(error)")
        }
        guard reply.status == 200, let body = reply.body, let commit = body["commit"]?["cid"]?.stringValue.flatMap({ try? CID(string: $0) })
        else {
            let message = reply.body?["message"]?.stringValue ?? "HTTP \(reply.status)"
            throw DashboardError(reply.status == 400 ? .badRequest : .badGateway, reply.body?["error"]?.stringValue ?? "UpstreamFailure",
                "your PDS refused the write: \(message)")
        }
        let results = body["results"]?.arrayValue ?? []
        var written: [LocalRepoWriter.Written] = []
        for (index, operation) in operations.enumerated() {
            let (collection, rkey): (NSID, RecordKey?) =
                switch operation {
                case .create(let c, let k, _): (c, k)
                case .update(let c, let k, _, _): (c, k)
                case .delete(let c, let k): (c, k)
                }
            let result = index < results.count ? results[index] : nil
            let uri = result?["uri"]?.stringValue.flatMap { try? ATURI($0) }
            guard let key = rkey ?? uri?.recordKey,
                let resolved = uri ?? (try? ATURI("at://\(did.string)/\(collection.string)/\(key.string)"))
            else { throw DashboardError(.badGateway, "UpstreamFailure", "your PDS answered the write without its record") }
            written.append(
                LocalRepoWriter.Written(uri: resolved, collection: collection, rkey: key, cid: result?["cid"]?.stringValue.flatMap { try? CID(string: $0) }))
        }
        return LocalRepoWriter.Result(commitCID: commit, rev: body["commit"]?["rev"]?.stringValue ?? "", written: written)
    }

    /// The writes in `com.atproto.repo.applyWrites`' shape.
    static func applyWritesList(_ keyed: [LocalRepoWriter.Operation]) -> [DataValue] {
        keyed.map { operation in
            switch operation {
            case .create(let collection, let rkey, let record):
                return [
                    "$type": "com.atproto.repo.applyWrites#create", "collection": .string(collection.string), "rkey": .string(rkey?.string ?? ""),
                    "value": record,
                ]
            case .update(let collection, let rkey, let record, _):
                return ["$type": "com.atproto.repo.applyWrites#update", "collection": .string(collection.string), "rkey": .string(rkey.string), "value": record]
            case .delete(let collection, let rkey):
                return ["$type": "com.atproto.repo.applyWrites#delete", "collection": .string(collection.string), "rkey": .string(rkey.string)]
            }
        }
    }

    /// The record key and collection of an `at://` URI.
    static func parts(ofURI uri: String) -> (did: DID, collection: NSID, rkey: RecordKey)? {
        guard let parsed = try? ATURI(uri), let did = parsed.authority.did, let collection = parsed.collection,
            let rkey = parsed.recordKey
        else { return nil }
        return (did, collection, rkey)
    }

    /// The community `id` of the index, or 404.
    func existingCommunity(_ id: String) async throws -> CommunityView {
        guard CommunityHashtag.isValidID(id), let community = try await communityView(id: id) else {
            throw DashboardError.notFound("CommunityNotFound", "No community \(id)")
        }
        return community
    }

    /// Requires the caller to be the community's owner or a moderator.
    /// - Returns: the caller's role.
    @discardableResult
    func requireModerator(_ caller: DashboardCaller, of community: CommunityView) async throws -> String {
        if caller.did == community.owner { return "owner" }
        if community.moderators.contains(caller.did) { return "moderator" }
        throw DashboardError.forbidden("only the owner or a moderator of community \(community.id) may do this")
    }

    func requireOwner(_ caller: DashboardCaller, of community: CommunityView) throws {
        guard caller.did == community.owner else { throw DashboardError.forbidden("only the owner of community \(community.id) may do this") }
    }

    /// The community `id` as the index holds it, or nil.
    func communityView(id: String) async throws -> CommunityView? {
        try await index.community(id: id).map(CommunityView.init)
    }

    /// Waits (at most `indexWaitMilliseconds`) for the index to show a
    /// write: polls `condition` until it holds or the time is up.
    /// - Returns: whether it held.
    func awaitIndex(_ condition: (CommunityIndexStore) async throws -> Bool) async throws -> Bool {
        let deadline = ContinuousClock.now + .milliseconds(config.indexWaitMilliseconds)
        while true {
            if try await condition(index) { return true }
            if ContinuousClock.now >= deadline { return false }
            try await Task.sleep(for: .milliseconds(20))
        }
    }
}
