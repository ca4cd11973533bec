import Foundation
import Identity
import NIOHTTP1
import OAuth

/// Finds OAuth clients: a loopback development client from its
/// `client_id` alone, any other by fetching the metadata document its
/// `client_id` names, through the guarded client (no private addresses,
/// 64 KiB, 5 s), validated, and cached as its `Cache-Control` allows (one
/// minute to a day; ten minutes when it says nothing). A failed fetch is
/// not cached: the next request fetches again.
actor ClientRegistry {
    let http: GuardedHTTPClient
    /// Whether `http://127.0.0.1…` client IDs are accepted (a development
    /// server that allows private outbound requests, and the tests).
    let allowsHTTPLoopback: Bool
    static let maxDocumentBytes = 64 * 1024
    static let fetchTimeout: Duration = .seconds(5)
    private var cache: [String: (client: OAuthClient, until: Date)] = [:]
    private var keySets: [String: (keys: [JWKObject], until: Date)] = [:]
    static let capacity = 1_000

    init(http: GuardedHTTPClient, allowsHTTPLoopback: Bool) {
        self.http = http
        self.allowsHTTPLoopback = allowsHTTPLoopback
    }

    /// The client `clientID` names, validated.
    func client(_ clientID: String, now: Date = Date()) async throws(OAuthError) -> OAuthClient {
        if OAuthClient.isLoopbackClientID(clientID) { return try OAuthClient(loopbackClientID: clientID) }
        if let cached = cache[clientID], cached.until > now { return cached.client }
        try checkClientIDURL(clientID)
        let reply: GuardedHTTPClient.Reply
        do {
            reply = try await http.get(clientID, timeout: Self.fetchTimeout, maxBytes: Self.maxDocumentBytes)
        } catch {
            throw .invalidClient("could not fetch the client metadata document at \(clientID): \(error)")
        }
        guard reply.status == 200 else {
            throw .invalidClient("the client metadata document at \(clientID) answered HTTP \(reply.status)")
        }
        let metadata: ClientMetadata
        do {
            metadata = try JSONDecoder().decode(ClientMetadata.self, from: Data(reply.body))
        } catch {
            throw .invalidClientMetadata("the client metadata document at \(clientID) is not a JSON object of client metadata")
        }
        let client = try OAuthClient(clientID: clientID, metadata: metadata)
        if let lifetime = Self.cacheLifetime(reply.headers) {
            if cache.count >= Self.capacity { cache.removeAll(keepingCapacity: true) }
            cache[clientID] = (client, now.addingTimeInterval(lifetime))
        }
        return client
    }

    /// The keys a confidential client signs its assertions with.
    func keys(of client: OAuthClient, now: Date = Date()) async throws(OAuthError) -> [JWKObject] {
        if let keys = client.metadata.jwks?.keys { return keys }
        guard let uri = client.metadata.jwks_uri else { throw .invalidClient("the client has no keys (jwks or jwks_uri)") }
        if let cached = keySets[uri], cached.until > now { return cached.keys }
        let reply: GuardedHTTPClient.Reply
        do {
            reply = try await http.get(uri, timeout: Self.fetchTimeout, maxBytes: Self.maxDocumentBytes)
        } catch {
            throw .invalidClient("could not fetch the client's jwks_uri: \(error)")
        }
        guard reply.status == 200, let set = try? JSONDecoder().decode(ClientMetadata.JWKSet.self, from: Data(reply.body)) else {
            throw .invalidClient("the client's jwks_uri did not answer a JWK set")
        }
        if let lifetime = Self.cacheLifetime(reply.headers) {
            if keySets.count >= Self.capacity { keySets.removeAll(keepingCapacity: true) }
            keySets[uri] = (set.keys, now.addingTimeInterval(lifetime))
        }
        return set.keys
    }

    /// A document's `client_id` is an https URL with a path, no fragment
    /// and no credentials.
    private func checkClientIDURL(_ clientID: String) throws(OAuthError) {
        guard let url = URLComponents(string: clientID), let host = url.host, !host.isEmpty, url.user == nil, url.password == nil,
            url.fragment == nil, !url.path.isEmpty
        else { throw .invalidClient("client_id must be the https URL of the client's metadata document") }
        let loopback = host == "127.0.0.1" || host == "[::1]" || host == "::1"
        guard url.scheme == "https" || (url.scheme == "http" && loopback && allowsHTTPLoopback) else {
            throw .invalidClient("client_id must be an https URL (or http://localhost for a development client)")
        }
    }

    /// Seconds from `Cache-Control: max-age`, clamped to a minute..a day;
    /// nil for `no-store`/`no-cache`.
    static func cacheLifetime(_ headers: HTTPHeaders) -> TimeInterval? {
        let directives = headers["cache-control"].flatMap { $0.split(separator: ",") }.map {
            $0.trimmingCharacters(in: .whitespaces).lowercased()
        }
        if directives.contains("no-store") || directives.contains("no-cache") { return nil }
        let maxAge = directives.first { $0.hasPrefix("max-age=") }.flatMap { Int($0.dropFirst(8)) }
        return TimeInterval(min(max(maxAge ?? 600, 60), 86_400))
    }
}
