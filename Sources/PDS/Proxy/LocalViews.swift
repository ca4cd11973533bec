import ATProto
import Foundation

/// The AppView's view types built from the requester's own records, for
/// read-after-write: a post as `app.bsky.feed.defs#postView` (no counts
/// yet, images linked through this server's `getBlob`) and its author as
/// `app.bsky.actor.defs#profileViewBasic`. Quote embeds are left out: the
/// quoted post is the AppView's to show.
struct LocalViews {
    let account: Account
    let profile: DataMap?
    /// This server's public URL, for blob links.
    let serviceURL: String

    /// A blob's URL on this server, for an image the AppView has not
    /// processed yet.
    func blobURL(_ blob: DataValue?) -> String? {
        guard let link = blob?["ref"]?.linkValue?.string else { return nil }
        return "\(serviceURL)/xrpc/com.atproto.sync.getBlob?did=\(account.did.string)&cid=\(link)"
    }

    /// `profileViewBasic` of the requester.
    var author: DataMap {
        var view: DataMap = ["did": .string(account.did.string), "handle": .string(account.handle.string)]
        if let name = profile?["displayName"]?.stringValue { view["displayName"] = .string(name) }
        if let avatar = blobURL(profile?["avatar"]) { view["avatar"] = .string(avatar) }
        return view
    }

    /// `postView` of a local post.
    func post(_ post: LocalRecords.Post) -> DataMap {
        var view: DataMap = [
            "$type": "app.bsky.feed.defs#postView",
            "uri": .string(post.uri), "cid": .string(post.cid.string), "author": .map(author), "record": .map(post.record),
            "indexedAt": .string(post.indexedAt), "likeCount": 0, "replyCount": 0, "repostCount": 0, "quoteCount": 0,
        ]
        if let embed = embed(post.record["embed"]) { view["embed"] = .map(embed) }
        return view
    }

    /// The view of an image or link-card embed.
    func embed(_ value: DataValue?) -> DataMap? {
        switch value?["$type"]?.stringValue {
        case "app.bsky.embed.images":
            let images = (value?["images"]?.arrayValue ?? []).map { image -> DataValue in
                var view: DataMap = ["alt": .string(image["alt"]?.stringValue ?? "")]
                if let url = blobURL(image["image"]) {
                    view["thumb"] = .string(url)
                    view["fullsize"] = .string(url)
                }
                if let ratio = image["aspectRatio"] { view["aspectRatio"] = ratio }
                return .map(view)
            }
            return ["$type": "app.bsky.embed.images#view", "images": .array(images)]
        case "app.bsky.embed.external":
            guard case .map(var external)? = value?["external"] else { return nil }
            external["thumb"] = blobURL(external["thumb"]).map { .string($0) }
            return ["$type": "app.bsky.embed.external#view", "external": .map(external)]
        default:
            return nil
        }
    }

    /// A profile view (basic or detailed) of the requester with the local
    /// profile's fields: what the AppView showed, edited.
    func patchedProfile(_ view: DataMap, detailed: Bool) -> DataMap {
        guard let profile else { return view }
        var view = view
        view["displayName"] = profile["displayName"]?.stringValue.map { .string($0) }
        view["avatar"] = blobURL(profile["avatar"]).map { .string($0) }
        if detailed {
            view["description"] = profile["description"]?.stringValue.map { .string($0) }
            view["banner"] = blobURL(profile["banner"]).map { .string($0) }
        }
        return view
    }
}
