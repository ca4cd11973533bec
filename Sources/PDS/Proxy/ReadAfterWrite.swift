import ATProto
import Foundation
import HTTPTypes

/// Read-after-write, as the reference PDS does it: the AppView's answers
/// to the views of the requester's own posts and profile are patched with
/// the records the requester wrote after the `atproto-repo-rev` the
/// AppView answered with, so a new post or a profile edit shows at once in
/// the app instead of after the AppView has indexed it. A patched answer
/// carries `Atproto-Upstream-Lag` (milliseconds since the oldest record it
/// added was stored); any other answer passes through untouched.
enum ReadAfterWrite {
    static let revHeader = HTTPField.Name("atproto-repo-rev")!
    static let lagHeader = HTTPField.Name("Atproto-Upstream-Lag")!
    static let threadViewPost = "app.bsky.feed.defs#threadViewPost"

    /// What the requester wrote and how to show it.
    struct Context {
        let local: LocalRecords
        let views: LocalViews
        let requester: Account
        let call: XRPCCall
    }

    /// Edits an answer; returns whether it changed anything.
    typealias Patch = @Sendable (inout DataMap, Context) -> Bool

    static func register(_ methods: inout XRPCMethods) {
        let patches: [(String, Patch)] = [
            ("app.bsky.feed.getTimeline", { body, context in insertPosts(into: &body, context) }),
            ("app.bsky.feed.getAuthorFeed", authorFeed),
            ("app.bsky.feed.getActorLikes", { body, context in patchAuthors(in: &body, context) }),
            ("app.bsky.feed.getPostThread", postThread),
            ("app.bsky.actor.getProfile", profile),
            ("app.bsky.actor.getProfiles", profiles),
        ]
        for (nsid, patch) in patches {
            methods.query(nsid) { call in try await serve(call, patch: patch) }
        }
    }

    /// Proxies the call as ``ServiceProxy`` does, then patches the answer.
    static func serve(_ call: XRPCCall, patch: Patch) async throws -> XRPCResult {
        let target = try await ServiceProxy.target(for: call)
        let user = try await call.authenticate(checksPermissions: true)
        try user.require(rpc: call.method, aud: target.reference)
        let answer = try await ServiceProxy.forward(call, user: user, target: target)
        // A thread the AppView does not know yet may be the requester's new post.
        let isThreadNotFound = call.method == "app.bsky.feed.getPostThread"
        guard case .proxied(let status, let contentType, let body, var headers) = answer,
            let rev = headers[revHeader], !rev.isEmpty, contentType?.lowercased().hasPrefix("application/json") == true,
            status == .ok || (status == .badRequest && isThreadNotFound)
        else { return answer }
        // The AppView's answer stands on its own: a failed local read only
        // means it is not patched.
        guard let local = try? await call.services.storage.read({ tx in try LocalRecords.since(rev, did: user.did, in: tx) }),
            local.count > 0, case .map(var json)? = try? ATProtoJSON.decode(body, mode: .lenient) else { return answer }
        let context = Context(
            local: local, views: LocalViews(account: user.account, profile: local.profile, serviceURL: call.services.config.resolvedPublicURL),
            requester: user.account, call: call)
        var newStatus = status
        if status == .badRequest {
            guard json["error"]?.stringValue == "NotFound", let thread = localThread(context) else { return answer }
            json = ["thread": .map(thread)]
            newStatus = .ok
        } else {
            guard patch(&json, context) else { return answer }
        }
        headers[lagHeader] = String(local.lagMilliseconds())
        return .proxied(status: newStatus, contentType: "application/json; charset=utf-8", body: ATProtoJSON.encode(.map(json)), headers: headers)
    }

    // MARK: - Feeds

    /// Puts the local posts newer than the feed's last item into the feed,
    /// newest first, each before the first item older than it.
    static func insertPosts(into body: inout DataMap, _ context: Context) -> Bool {
        guard case .array(var feed)? = body["feed"] else { return false }
        let lastTime = feed.last?["post"]?["indexedAt"]?.stringValue.flatMap { try? ATDatetime($0).date } ?? .distantPast
        let known = Set(feed.compactMap { $0["post"]?["uri"]?.stringValue })
        let newer = context.local.posts.filter { post in
            !known.contains(post.uri) && (try? ATDatetime(post.indexedAt).date).map { $0 > lastTime } == true
        }
        guard !newer.isEmpty else { return false }
        for post in newer.reversed() {
            let time = (try? ATDatetime(post.indexedAt).date) ?? .distantPast
            let item: DataValue = ["post": .map(context.views.post(post))]
            let index = feed.firstIndex { ($0["post"]?["indexedAt"]?.stringValue.flatMap { try? ATDatetime($0).date } ?? .distantPast) < time }
            feed.insert(item, at: index ?? feed.endIndex)
        }
        body["feed"] = .array(feed)
        return true
    }

    /// The requester's own feed: their name and avatar as edited, and
    /// their new posts.
    static func authorFeed(_ body: inout DataMap, _ context: Context) -> Bool {
        let actor = context.call.param("actor")?.lowercased()
        guard actor == context.requester.did.string || actor == context.requester.handle.string.lowercased() else { return false }
        let authors = patchAuthors(in: &body, context)
        let posts = insertPosts(into: &body, context)
        return authors || posts
    }

    /// The requester's posts in a feed shown with the edited profile.
    static func patchAuthors(in body: inout DataMap, _ context: Context) -> Bool {
        guard context.local.profile != nil, case .array(let feed)? = body["feed"] else { return false }
        let requester = context.requester.did.string
        var changed = false
        body["feed"] = .array(
            feed.map { item in
                guard case .map(var entry) = item, case .map(var post)? = entry["post"], case .map(let author)? = post["author"],
                    author["did"]?.stringValue == requester
                else { return item }
                changed = true
                post["author"] = .map(context.views.patchedProfile(author, detailed: false))
                entry["post"] = .map(post)
                return .map(entry)
            })
        return changed
    }

    // MARK: - Threads

    /// The requester's new replies under the posts of the thread.
    static func postThread(_ body: inout DataMap, _ context: Context) -> Bool {
        guard case .map(var thread)? = body["thread"] else { return false }
        let changed = insertReplies(into: &thread, context)
        body["thread"] = .map(thread)
        return changed
    }

    /// Adds to a `threadViewPost` the local replies to its post, first,
    /// and to its replies theirs.
    static func insertReplies(into node: inout DataMap, _ context: Context) -> Bool {
        guard node["$type"]?.stringValue == threadViewPost, let uri = node["post"]?["uri"]?.stringValue else { return false }
        var changed = false
        var replies = node["replies"]?.arrayValue ?? []
        replies = replies.map { reply in
            guard case .map(var child) = reply else { return reply }
            if insertReplies(into: &child, context) { changed = true }
            return .map(child)
        }
        let present = Set(replies.compactMap { $0["post"]?["uri"]?.stringValue })
        for post in context.local.posts where post.record["reply"]?["parent"]?["uri"]?.stringValue == uri && !present.contains(post.uri) {
            var child: DataMap = ["$type": .string(threadViewPost), "post": .map(context.views.post(post)), "replies": []]
            _ = insertReplies(into: &child, context)
            replies.insert(.map(child), at: 0)
            changed = true
        }
        node["replies"] = .array(replies)
        return changed
    }

    /// The thread of a post the AppView has not seen: the requester's own
    /// new post (without its parents, which are the AppView's) and its
    /// local replies.
    static func localThread(_ context: Context) -> DataMap? {
        guard let uri = context.call.param("uri"), let post = context.local.posts.first(where: { $0.uri == uri }) else { return nil }
        var node: DataMap = ["$type": .string(threadViewPost), "post": .map(context.views.post(post)), "replies": []]
        _ = insertReplies(into: &node, context)
        return node
    }

    // MARK: - Profiles

    /// The requester's profile with the edited fields.
    static func profile(_ body: inout DataMap, _ context: Context) -> Bool {
        guard context.local.profile != nil, body["did"]?.stringValue == context.requester.did.string else { return false }
        body = context.views.patchedProfile(body, detailed: true)
        return true
    }

    static func profiles(_ body: inout DataMap, _ context: Context) -> Bool {
        guard context.local.profile != nil, case .array(let list)? = body["profiles"] else { return false }
        var changed = false
        body["profiles"] = .array(
            list.map { item in
                guard case .map(let view) = item, view["did"]?.stringValue == context.requester.did.string else { return item }
                changed = true
                return .map(context.views.patchedProfile(view, detailed: true))
            })
        return changed
    }
}
