import ATProto
import AsyncHTTPClient
import Foundation
import Identity

/// Posts hosted elsewhere, read from the configured AppView with
/// `app.bsky.feed.getPosts` (for the Atrarium dashboard's feed page, which
/// shows the text of posts this server does not hold). Asked as a user of
/// this server when the reader is one (a service token, as proxying does),
/// otherwise without one (the AppView answers public posts to anyone).
public enum AppViewPosts {
    /// What the dashboard shows of a post.
    public struct Post: Sendable, Equatable {
        public let text: String
        public let createdAt: String?
        public let authorHandle: String?
    }

    /// `getPosts` takes at most 25 URIs per call.
    static let batch = 25

    /// The posts among `uris` the AppView knows, by URI; empty when no
    /// AppView is configured or it cannot be reached (the page then shows
    /// the posts without their text).
    public static func posts(_ uris: [String], reader: DID?, services: PDSServices) async -> [String: Post] {
        guard !uris.isEmpty, let base = services.config.appViewURL?.trimmingSuffix("/"), let audience = services.config.appViewDID else {
            return [:]
        }
        var account: Account?
        if let reader, let local = try? await services.accounts.account(did: reader), local.status == .active { account = local }
        var found: [String: Post] = [:]
        for start in stride(from: 0, to: uris.count, by: batch) {
            var components = URLComponents(string: base + "/xrpc/app.bsky.feed.getPosts")
            components?.queryItems = uris[start..<min(start + batch, uris.count)].map { URLQueryItem(name: "uris", value: $0) }
            guard let url = components?.url?.absoluteString else { continue }
            var request = HTTPClientRequest(url: url)
            if let account, let token = try? ServiceAuth.mint(account: account, aud: audience, lxm: "app.bsky.feed.getPosts") {
                request.headers.add(name: "Authorization", value: "Bearer \(token)")
            }
            guard let reply = try? await services.identity.http.send(request, timeout: .seconds(5), maxBytes: 4 << 20), reply.status == 200,
                let body = try? ATProtoJSON.decode(reply.body[...], mode: .lenient)
            else { continue }
            for post in body["posts"]?.arrayValue ?? [] {
                guard let uri = post["uri"]?.stringValue, let text = post["record"]?["text"]?.stringValue else { continue }
                found[uri] = Post(
                    text: text, createdAt: post["record"]?["createdAt"]?.stringValue, authorHandle: post["author"]?["handle"]?.stringValue)
            }
        }
        return found
    }
}
