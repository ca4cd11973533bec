import ATProto
import Foundation
import Identity
import OAuth

/// Resolves `include:<nsid>` permission sets through Lexicon resolution:
/// the NSID's authority (`app.example` for `app.example.authFull`) names a
/// DNS TXT record (`_lexicon.example.app`, `did=<DID>`), the DID's
/// repository holds the schema as a `com.atproto.lexicon.schema` record
/// keyed by the NSID, read from its PDS through the guarded client. Sets
/// are kept an hour (the spec asks servers to cache and re-resolve);
/// a failure is kept a minute, so a missing set is not looked up on every
/// request.
///
/// The record is read with `com.atproto.repo.getRecord`, not verified
/// against the repository's signed commit.
actor PermissionSetResolver {
    let identity: IdentityServices
    static let lifetime: TimeInterval = 3600
    static let failureLifetime: TimeInterval = 60
    private var cache: [String: (set: Result<PermissionSet, OAuthError>, until: Date)] = [:]

    init(identity: IdentityServices) {
        self.identity = identity
    }

    func resolve(_ nsid: String, now: Date = Date()) async -> Result<PermissionSet, OAuthError> {
        if let cached = cache[nsid], cached.until > now { return cached.set }
        let result: Result<PermissionSet, OAuthError>
        do {
            result = .success(try await fetch(nsid))
        } catch let error as OAuthError {
            result = .failure(error)
        } catch {
            result = .failure(.invalidScope("permission set \(nsid) could not be resolved: \(error)"))
        }
        if cache.count >= 1_000 { cache.removeAll(keepingCapacity: true) }
        cache[nsid] = (result, now.addingTimeInterval(result.isSuccess ? Self.lifetime : Self.failureLifetime))
        return result
    }

    private func fetch(_ nsid: String) async throws -> PermissionSet {
        let segments = nsid.split(separator: ".")
        guard segments.count >= 3 else { throw OAuthError.invalidScope("\(nsid) is not an NSID") }
        let authority = segments.dropLast().reversed().joined(separator: ".")
        guard let dns = identity.dns else { throw OAuthError.invalidScope("no DNS resolver to resolve \(nsid)") }
        let records = try await dns.txt("_lexicon." + authority)
        guard let did = records.lazy.compactMap({ $0.hasPrefix("did=") ? try? DID(String($0.dropFirst(4))) : nil }).first else {
            throw OAuthError.invalidScope("_lexicon.\(authority) names no DID")
        }
        let document = try await identity.dids.resolve(did)
        guard var endpoint = document.pdsEndpoint else { throw OAuthError.invalidScope("\(did) has no PDS") }
        while endpoint.hasSuffix("/") { endpoint.removeLast() }
        var url = URLComponents(string: endpoint + "/xrpc/com.atproto.repo.getRecord")
        url?.queryItems = [
            URLQueryItem(name: "repo", value: did.string), URLQueryItem(name: "collection", value: "com.atproto.lexicon.schema"),
            URLQueryItem(name: "rkey", value: nsid),
        ]
        guard let address = url?.string else { throw OAuthError.invalidScope("\(did)'s PDS URL is not usable") }
        let reply = try await identity.http.get(address, timeout: .seconds(5), maxBytes: 256 * 1024)
        guard reply.status == 200, let value = try? ATProtoJSON.decode(reply.body, mode: .lenient)["value"] else {
            throw OAuthError.invalidScope("\(did) publishes no schema \(nsid) (HTTP \(reply.status))")
        }
        return try PermissionSet(nsid: nsid, schema: value)
    }
}

extension Result {
    fileprivate var isSuccess: Bool {
        if case .success = self { return true }
        return false
    }
}

extension OAuthServices {
    /// The scope an access token carries: the grant's, with each
    /// `include:` set replaced by what it grants now (sets are resolved
    /// again when the client refreshes, as the spec asks). A set that does
    /// not resolve grants nothing.
    func effectiveScope(_ scope: String) async -> String {
        guard let parsed = try? OAuthScope(scope) else { return scope }
        var tokens = parsed.tokens
        for permission in parsed.permissions {
            guard case .include(let nsid, let aud) = permission else { continue }
            if case .success(let set) = await permissionSets.resolve(nsid) {
                tokens += set.scopes(aud: aud).filter { !tokens.contains($0) }
            }
        }
        return tokens.joined(separator: " ")
    }
}
