import ATCrypto
import ATProto
import Atrarium
import FeedGen
import Foundation
import PDSTestSupport

@testable import PDS

/// Signing keys of accounts "on other PDSs" for the dashboard tests: DIDs
/// this server does not host, whose keys a resolver knows; every other DID
/// is looked up among the local accounts.
struct TestKeyResolver: SigningKeyResolver {
    let remote: [String: PublicKey]
    let local: LocalAccountKeyResolver

    func signingKey(for did: DID, forceRefresh: Bool) async throws -> PublicKey {
        if let key = remote[did.string] { return key }
        return try await local.signingKey(for: did, forceRefresh: forceRefresh)
    }
}

extension TestServer {
    /// A server with the feed generator and the dashboard API; `remote`
    /// names accounts hosted elsewhere whose service tokens it accepts.
    static func startWithDashboard(
        _ dashboard: DashboardConfig = DashboardConfig(), remote: [String: PublicKey] = [:], publicURL: String? = nil,
        jetstreamURLs: [String] = [], configure: @escaping (inout PDSConfig) -> Void = { _ in }
    ) async throws -> (TestServer, FeedGenBox) {
        let box = FeedGenBox()
        var feedConfig = FeedGenConfig()
        feedConfig.batchIntervalMilliseconds = 50
        feedConfig.jetstreamURLs = jetstreamURLs
        let server = try await TestServer.start({ config in
            if let publicURL { config.publicURL = publicURL }
            configure(&config)
        }) { services in
            let resolver = TestKeyResolver(remote: remote, local: LocalAccountKeyResolver(accounts: services.accounts))
            let (plugin, generator) = try AtrariumExtension.make(
                services: services, config: feedConfig, keyResolver: resolver, dashboard: dashboard)
            box.set(generator)
            return [plugin]
        }
        return (server, box)
    }

    /// A dashboard API call with a raw JSON body (so fractions can be sent).
    func api(_ method: String, _ path: String, _ json: String? = nil, query: [(String, String)] = [], token: String?) async throws -> Reply {
        try await request(
            method, path, query: query, body: json.map { Array($0.utf8) }, contentType: json == nil ? nil : "application/json",
            headers: token.map { ["Authorization": "Bearer \($0)"] } ?? [:])
    }

    /// Every record of one collection of a repository.
    func records(_ did: String, _ collection: String) async throws -> [DataValue] {
        let reply = try await query("com.atproto.repo.listRecords", [("repo", did), ("collection", collection), ("limit", "100")])
        guard reply.status == 200 else { throw TestError("listRecords: \(reply.status) \(reply.text)") }
        return reply["records"]?.arrayValue ?? []
    }

    /// Every record of the Atrarium collections (and feed generator records) of a repository.
    func atrariumRecords(_ did: String) async throws -> [String] {
        var uris: [String] = []
        for collection in [
            AtrariumRecords.config.string, AtrariumRecords.membership.string, AtrariumRecords.approval.string, AtrariumRecords.moderationAction.string,
            "app.bsky.feed.generator",
        ] {
            uris += try await records(did, collection).compactMap { $0["uri"]?.stringValue }
        }
        return uris
    }

    /// A service-auth token for the dashboard API, signed by `key`.
    func serviceToken(iss: String, key: PrivateKey, aud: String? = nil, lxm: String = "net.atrarium.dashboard", exp: Int = 60) throws -> String {
        let now = Int(Date().timeIntervalSince1970)
        return try JWT.sign(
            claims: JWTClaims(
                iss: iss, aud: aud ?? services.config.resolvedServiceDID, exp: now + exp, iat: now, lxm: lxm, jti: UUID().uuidString),
            typ: "JWT", key: key)
    }

    /// Polls the dashboard feed until its post URIs equal `expected` (or 5 s pass).
    func awaitDashboardFeed(_ id: String, _ expected: [String], token: String) async throws -> [DataValue] {
        let deadline = ContinuousClock.now + .seconds(5)
        var items: [DataValue] = []
        while ContinuousClock.now < deadline {
            let reply = try await api("GET", "/api/communities/\(id)/feed", token: token)
            items = reply["feed"]?.arrayValue ?? []
            if items.compactMap({ $0["uri"]?.stringValue }) == expected { return items }
            try await Task.sleep(for: .milliseconds(25))
        }
        return items
    }
}
