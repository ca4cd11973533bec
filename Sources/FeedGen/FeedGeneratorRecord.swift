import ATProto
import Foundation

/// The `app.bsky.feed.generator` record that publishes a community's feed
/// in its owner's repository (record key `atrarium-<id>`), so the feed
/// appears in Bluesky clients.
public enum FeedGeneratorRecord {
    /// The record for community `id` named `name`, served by `feedGeneratorDID`.
    /// `displayName` is cut to 24 graphemes and `description` to 300, the
    /// Lexicon's limits.
    public static func record(
        communityID id: String, name: String, description: String?, feedGeneratorDID: String, createdAt: Date = Date()
    ) -> DataValue {
        var map: DataMap = [
            "$type": "app.bsky.feed.generator",
            "did": .string(feedGeneratorDID),
            "displayName": .string(String(name.prefix(24))),
            "createdAt": .string(ATDatetime.format(createdAt)),
        ]
        let hashtag = CommunityHashtag.hashtag(id: id)
        let text = [description, "Posts tagged \(hashtag)."].compactMap { $0 }.joined(separator: "\n")
        map["description"] = .string(String(text.prefix(300)))
        return .map(map)
    }
}
