import ATProto
import FeedGen
import PDS

/// `GET /api/communities/:id/feed`, which counts against the feed rate limit.
extension DashboardAPI {
    /// `GET /api/communities/:id/feed[?limit=&cursor=]`: the feed skeleton's
    /// posts, with the text of posts hosted on this PDS.
    func feed(_ call: DashboardRequest) async throws -> DashboardAnswer {
        _ = try call.user
        let community = try await existingCommunity(call.parameter("id"))
        let limit = try call.intQuery("limit", default: 50, range: 1...100)
        let cursor = call.queryValue("cursor").flatMap { $0.isEmpty ? nil : $0 }
        let page = try await generator.skeletons.page(community: community.id, limit: limit, cursor: cursor)
        var items: [DataValue] = []
        for item in page.items {
            var map: DataMap = ["uri": .string(item.uri), "cid": .string(item.cid)]
            if let parts = Self.parts(ofURI: item.uri) {
                map["author"] = .string(parts.did.string)
                if let local = try await writer.record(did: parts.did, collection: parts.collection, rkey: parts.rkey),
                    let text = local.value["text"]?.stringValue
                {
                    map["text"] = .string(text)
                    if let createdAt = local.value["createdAt"]?.stringValue { map["createdAt"] = .string(createdAt) }
                }
            }
            items.append(.map(map))
        }
        var body: DataMap = ["community": .string(community.id), "feed": .array(items)]
        if let next = page.cursor { body["cursor"] = .string(next) }
        return DashboardAnswer(.map(body))
    }
}
