import ATProto
import FeedGen
import Foundation
import PDS

/// `POST/GET /api/communities`, `GET/PUT /api/communities/:id`.
extension DashboardAPI {
    static let stages = ["theme", "community", "graduated"]
    static let communityFields: Set<String> = ["name", "description", "stage", "accessType", "feedMix", "moderators", "parentCommunity"]

    /// Creates a community: its config record, under a fresh hashtag, and
    /// its `app.bsky.feed.generator` record, in one commit of the caller's
    /// repository. A hashtag another community took meanwhile (the index
    /// keeps the first config) is given up and another one drawn.
    func createCommunity(_ call: DashboardRequest) async throws -> DashboardAnswer {
        let caller = try call.user
        let body = try call.json
        try Self.rejectUnknownFields(body, allowed: Self.communityFields)
        for attempt in 1...8 {
            let id = drawID()
            guard CommunityHashtag.isValidID(id) else { continue }
            if try await index.communityExists(id: id) {
                services.logger.info("dashboard: hashtag taken, drawing another", metadata: ["id": .string(id), "attempt": "\(attempt)"])
                continue
            }
            var map: DataMap = [
                "$type": .string(AtrariumRecords.config.string), "name": .string(try Self.name(body)),
                "hashtag": .string(CommunityHashtag.hashtag(id: id)), "stage": .string(try body.string("stage") ?? "theme"),
                "accessType": .string(try body.string("accessType") ?? "open"), "createdAt": .string(ATDatetime.now().string),
                "moderators": .array((try body.strings("moderators") ?? []).map(DataValue.string)),
            ]
            try await applyEdits(body, to: &map, previousStage: nil)
            let record = DataValue.map(map)
            let config = try AtrariumRecords.checkConfig(record)
            let feedRecord = FeedGeneratorRecord.record(
                communityID: id, name: config.name, description: config.description, feedGeneratorDID: generator.did.string)
            let outcome = try await write(
                caller,
                [
                    .create(collection: AtrariumRecords.config, rkey: AtrariumRecords.configKey(id), record: record),
                    .create(collection: AtrariumRecords.feedGenerator, rkey: FeedGenerator.feedRecordKey(communityID: id), record: feedRecord),
                ])
            let result: LocalRepoWriter.Result
            switch outcome {
            case .client(let answer): return answer
            case .committed(let committed): result = committed
            }
            let uri = result.written[0].uri.string, cid = result.written[0].cid?.string ?? ""
            let indexed = try await awaitIndex { index in try await index.communityExists(id: id) }
            let holder = try await communityView(id: id)
            if indexed, let holder, holder.configURI != uri {
                // Another config claimed the hashtag first: take ours back and draw again.
                _ = try await writer.apply(
                    did: caller.did,
                    [.delete(collection: AtrariumRecords.config, rkey: AtrariumRecords.configKey(id)),
                     .delete(collection: AtrariumRecords.feedGenerator, rkey: FeedGenerator.feedRecordKey(communityID: id))])
                services.logger.info("dashboard: hashtag collision, drawing another", metadata: ["id": .string(id), "attempt": "\(attempt)"])
                continue
            }
            let view = holder ?? CommunityView(id: id, uri: uri, cid: cid, owner: caller.did, config: config, memberCount: 1)
            return DashboardAnswer(
                status: .created,
                [
                    "community": view.json(role: "owner"), "uri": .string(uri), "cid": .string(cid),
                    "feedUri": .string(FeedGenerator.feedURI(communityID: id, owner: caller.did)),
                    "feedGeneratorRecord": .string(result.written[1].uri.string), "commit": .string(result.commitCID.string),
                    "indexed": .bool(indexed),
                ])
        }
        throw DashboardError.conflict("HashtagUnavailable", "could not find a free hashtag; try again")
    }

    /// `GET /api/communities[?member=me|<did>][&limit=]`.
    func listCommunities(_ call: DashboardRequest) async throws -> DashboardAnswer {
        let caller = try call.user
        let limit = try call.intQuery("limit", default: 100, range: 1...500)
        var member: DID?
        if let raw = call.queryValue("member") {
            member = raw == "me" ? caller.did : try? DID(raw)
            guard member != nil else { throw DashboardError.badRequest("member must be 'me' or a DID") }
        }
        let found: [(CommunityView, String?)]
        if let member {
            found = try await index.communities(involving: member, limit: limit).map { (CommunityView($0.community), $0.role ?? "pending") }
        } else {
            found = try await index.communities(limit: limit).map { (CommunityView($0), nil) }
        }
        return DashboardAnswer(["communities": .array(found.map { $0.0.json(role: $0.1) })])
    }

    /// `GET /api/communities/:id`, with the caller's role.
    func getCommunity(_ call: DashboardRequest) async throws -> DashboardAnswer {
        let caller = try call.user
        let community = try await existingCommunity(call.parameter("id"))
        let role = try await index.role(of: caller.did, in: community.id)
        let pending = role == nil ? try await index.hasActiveClaim(caller.did, configURI: community.configURI) : false
        return DashboardAnswer(["community": community.json(role: role ?? (pending ? "pending" : nil))])
    }

    /// `PUT /api/communities/:id` (owner only): name, description, stage
    /// (forward only), accessType, feedMix, moderators, parentCommunity.
    func updateCommunity(_ call: DashboardRequest) async throws -> DashboardAnswer {
        let caller = try call.user
        let body = try call.json
        let community = try await existingCommunity(call.parameter("id"))
        try requireOwner(caller, of: community)
        try Self.rejectUnknownFields(body, allowed: Self.communityFields)
        for key in ["name", "stage", "accessType", "feedMix", "moderators"] where body.fields[key] == .null {
            throw DashboardError.badRequest("\(key) cannot be removed")
        }
        let original = try await currentConfig(community)
        var map = original
        if body.has("name") { map["name"] = .string(try Self.name(body)) }
        if body.fields["description"] == .null { map["description"] = nil }
        if let accessType = try body.string("accessType") { map["accessType"] = .string(accessType) }
        if let moderators = try body.strings("moderators") { map["moderators"] = .array(moderators.map(DataValue.string)) }
        if body.fields["parentCommunity"] == .null { map["parentCommunity"] = nil }
        try await applyEdits(body, to: &map, previousStage: community.stage)
        if map["parentCommunity"]?.stringValue == community.configURI {
            throw DashboardError.badRequest("a community cannot be its own parent")
        }
        if map == original { return DashboardAnswer(["community": community.json(role: "owner"), "cid": .string(community.configCID), "indexed": true]) }
        return try await saveConfig(caller, community: community, record: .map(map)) { view in ["community": view.json(role: "owner")] }
    }

    /// The owner's current config record (from the repository when hosted here).
    func currentConfig(_ community: CommunityView) async throws -> DataMap {
        if let parts = Self.parts(ofURI: community.configURI),
            let found = try await writer.record(did: community.owner, collection: parts.collection, rkey: parts.rkey),
            case .map(let map) = found.value
        {
            return map
        }
        return community.record.mapValue ?? [:]
    }

    /// Writes a new version of the community's config (swapping on the
    /// current CID) and, when its name or description changed, its feed
    /// generator record; answers with the index's view once it follows.
    func saveConfig(
        _ caller: DashboardCaller, community: CommunityView, record: DataValue, answer: (CommunityView) -> DataValue
    ) async throws -> DashboardAnswer {
        let config = try AtrariumRecords.checkConfig(record)
        guard let parts = Self.parts(ofURI: community.configURI) else { throw DashboardError.badRequest("bad config URI") }
        var operations: [LocalRepoWriter.Operation] = [
            .update(collection: parts.collection, rkey: parts.rkey, record: record, swapRecord: try CID(string: community.configCID))
        ]
        if config.name != community.name || config.description != community.description {
            operations.append(
                .update(
                    collection: AtrariumRecords.feedGenerator, rkey: FeedGenerator.feedRecordKey(communityID: community.id),
                    record: FeedGeneratorRecord.record(
                        communityID: community.id, name: config.name, description: config.description, feedGeneratorDID: generator.did.string)))
        }
        switch try await write(caller, operations) {
        case .client(let answer): return answer
        case .committed(let result):
            let id = community.id, cid = result.written[0].cid?.string ?? ""
            let indexed = try await awaitIndex { index in try await index.configCID(id: id) == cid }
            let view = try await communityView(id: id)
            var body = answer(
                indexed && view != nil
                    ? view! : CommunityView(id: id, uri: community.configURI, cid: cid, owner: community.owner, config: config, memberCount: community.memberCount))
            if case .map(var map) = body {
                map["cid"] = .string(cid)
                map["indexed"] = .bool(indexed)
                body = .map(map)
            }
            return DashboardAnswer(body)
        }
    }

    /// Applies `feedMix`, `description`, `parentCommunity` and `stage` of
    /// `body` (the fields shared by create and update).
    func applyEdits(_ body: DashboardBody, to map: inout DataMap, previousStage: String?) async throws {
        if let description = try body.string("description") { map["description"] = .string(description) }
        if let mix = try body.object("feedMix") {
            let parsed = try FeedMixInput.parse(mix)
            map["feedMix"] = ["own": .int(Int64(parsed.own)), "parent": .int(Int64(parsed.parent)), "global": .int(Int64(parsed.global))]
        }
        if let parent = try body.string("parentCommunity") {
            if CommunityHashtag.isValidID(parent) {
                guard let found = try await index.community(id: parent) else {
                    throw DashboardError.badRequest("parentCommunity \(parent) is not a known community")
                }
                map["parentCommunity"] = .string(found.configURI)
            } else {
                guard Self.parts(ofURI: parent)?.collection == AtrariumRecords.config else {
                    throw DashboardError.badRequest("parentCommunity must be a community id or the at:// URI of its config")
                }
                map["parentCommunity"] = .string(parent)
            }
        }
        if let stage = try body.string("stage") {
            guard let next = Self.stages.firstIndex(of: stage) else {
                throw DashboardError.badRequest("stage must be one of \(Self.stages.joined(separator: ", "))")
            }
            if let previousStage, let current = Self.stages.firstIndex(of: previousStage), next < current {
                throw DashboardError.badRequest("stage moves only forward (theme → community → graduated): it is \(previousStage)")
            }
            map["stage"] = .string(stage)
        }
    }

    /// The `name` field: required and not blank (the published Lexicon
    /// allows an empty name; a community nobody can tell apart is no use).
    static func name(_ body: DashboardBody) throws -> String {
        let name = try body.requiredString("name")
        guard !name.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { throw DashboardError.badRequest("name must not be empty") }
        return name
    }

    static func rejectUnknownFields(_ body: DashboardBody, allowed: Set<String>) throws {
        if let unknown = body.fields.keys.sorted().first(where: { !allowed.contains($0) }) {
            throw DashboardError.badRequest("unknown field \(unknown)")
        }
    }
}
