import ATProto
import Foundation
import Identity
import Repo

/// `app.bsky.feed.getFeed` through the AppView, addressed to the feed
/// generator: the generator record (`app.bsky.feed.generator`) names the
/// generator's DID, which becomes the service token's `aud` (with `lxm`
/// `app.bsky.feed.getFeedSkeleton`), so the AppView can pass the token on.
enum FeedProxy {
    static func register(_ methods: inout XRPCMethods) {
        methods.query("app.bsky.feed.getFeed", getFeed)
    }

    /// The collection of feed generator records.
    static let generatorCollection = NSID(unchecked: "app.bsky.feed.generator")

    static func getFeed(_ call: XRPCCall) async throws -> XRPCResult {
        let feed = try call.requiredParam("feed")
        let target = try await ServiceProxy.target(for: call)
        let user = try await call.authenticate(checksPermissions: true)
        try user.require(rpc: call.method, aud: target.reference)
        guard let uri = try? ATURI(feed), uri.collection == generatorCollection, let rkey = uri.recordKey else {
            throw XRPCError.invalidRequest("feed must be the AT-URI of an app.bsky.feed.generator record")
        }
        let record = try await generatorRecord(repo: uri.authority.string, rkey: rkey, target: target, services: call.services)
        guard let feedDID = record?["did"]?.stringValue, DID.isValid(feedDID) else {
            throw XRPCError(.badRequest, "UnknownFeed", "could not resolve feed did")
        }
        return try await ServiceProxy.forward(call, user: user, target: target, aud: feedDID, lxm: "app.bsky.feed.getFeedSkeleton")
    }

    /// The generator record: from the local repository when its account is
    /// hosted here, else from the AppView (`com.atproto.repo.getRecord`).
    static func generatorRecord(repo: String, rkey: RecordKey, target: ServiceProxy.Target, services: PDSServices) async throws -> DataValue? {
        let local = try await services.storage.read { tx -> (found: Bool, value: DataValue?) in
            guard let account = try AccountStore.account(identifier: repo, in: tx), account.status != .deleted else { return (false, nil) }
            return (true, try RepoStorage.repository(did: account.did, in: tx)?.record(collection: generatorCollection, rkey: rkey)?.value)
        }
        if local.found { return local.value }
        var base = target.url
        while base.hasSuffix("/") { base.removeLast() }
        var components = URLComponents(string: base + "/xrpc/com.atproto.repo.getRecord")
        components?.queryItems = [.init(name: "repo", value: repo), .init(name: "collection", value: generatorCollection.string),
                                  .init(name: "rkey", value: rkey.string)]
        guard let url = components?.url?.absoluteString else { return nil }
        let reply: GuardedHTTPClient.Reply
        do {
            reply = try await services.identity.http.get(url, timeout: .seconds(10))
        } catch {
            throw XRPCError(.badGateway, "UpstreamFailure", "could not fetch the feed generator record: \(error)")
        }
        guard reply.status == 200 else { return nil }
        return (try? ATProtoJSON.decode(reply.body, mode: .lenient))?["value"]
    }
}
