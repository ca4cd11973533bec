import ATProto
import AsyncHTTPClient
import Crypto
import Foundation
import Identity
import NIOCore
import NIOHTTP1
import OAuth

/// Discovery and the HTTP exchanges of ``OAuthClientAgent``.
extension OAuthClientAgent {
    /// The endpoints of an authorization server, from its metadata.
    struct ServerMetadata: Sendable {
        let issuer: String
        let parEndpoint: String
        let authorizationEndpoint: String
        let tokenEndpoint: String
        let revocationEndpoint: String?
    }

    /// The DID (when `identifier` is a handle or DID) and the PDS of an
    /// account: this server for its own accounts, otherwise the
    /// `#atproto_pds` service of the resolved DID document.
    func locate(_ identifier: String) async throws(OAuthClientError) -> (DID, String) {
        var text = identifier.trimmingCharacters(in: .whitespaces).lowercased()
        if text.hasPrefix("@") { text.removeFirst() }
        guard !text.isEmpty else { throw .unknownAccount("enter your handle, for example alice.bsky.social") }
        let did: DID
        if text.hasPrefix("did:") {
            guard let parsed = try? DID(text) else { throw .unknownAccount("\(identifier) is not a valid DID") }
            did = parsed
        } else {
            guard (try? Handle(text)) != nil else { throw .unknownAccount("\(identifier) is not a handle (like alice.bsky.social)") }
            let resolved: DID?
            resolved = await services.resolveHandle(text)
            guard let resolved else { throw .unknownAccount("no account has the handle \(text)") }
            did = resolved
        }
        if let local = try? await services.accounts.account(did: did), local.status != .deleted {
            return (did, services.config.resolvedPublicURL.trimmingSuffix("/"))
        }
        let document: ResolvedDIDDocument
        do { document = try await services.identity.dids.resolve(did) } catch {
            throw .unknownAccount("could not resolve \(did): \(error)")
        }
        guard let pds = document.pdsEndpoint, pds.hasPrefix("https://") || pds.hasPrefix("http://") else {
            throw .unknownAccount("\(did) names no PDS")
        }
        return (did, pds.trimmingSuffix("/"))
    }

    /// The authorization server of a PDS (RFC 9728, then RFC 8414): the
    /// metadata's `issuer` must be the URL it was fetched under.
    func authorizationServer(ofPDS pdsURL: String) async throws(OAuthClientError) -> ServerMetadata {
        let resource = try await getJSON(pdsURL + "/.well-known/oauth-protected-resource")
        guard let issuer = resource["authorization_servers"]?.arrayValue?.first?.stringValue,
            issuer.hasPrefix("https://") || issuer.hasPrefix("http://")
        else { throw .serverProblem("\(pdsURL) names no authorization server") }
        let metadata = try await getJSON(issuer.trimmingSuffix("/") + "/.well-known/oauth-authorization-server")
        guard metadata["issuer"]?.stringValue == issuer else {
            throw .serverProblem("the authorization server's metadata names another issuer than \(issuer)")
        }
        guard let par = metadata["pushed_authorization_request_endpoint"]?.stringValue,
            let authorize = metadata["authorization_endpoint"]?.stringValue, let token = metadata["token_endpoint"]?.stringValue
        else { throw .serverProblem("\(issuer) does not offer pushed authorization requests") }
        return ServerMetadata(
            issuer: issuer, parEndpoint: par, authorizationEndpoint: authorize, tokenEndpoint: token,
            revocationEndpoint: metadata["revocation_endpoint"]?.stringValue)
    }

    private func getJSON(_ url: String) async throws(OAuthClientError) -> DataValue {
        var request = HTTPClientRequest(url: url)
        request.headers.add(name: "Accept", value: "application/json")
        let reply = try await send(request)
        guard reply.status == 200, let value = Self.json(reply) else {
            throw .serverProblem("\(url) answered HTTP \(reply.status)")
        }
        return value
    }

    /// POSTs a form with a DPoP proof, once more with the server's nonce
    /// when it asks for one (`use_dpop_nonce`).
    /// - Returns: the reply and the latest nonce the server gave.
    func postForm(_ url: String, _ fields: [(String, String)], key: DPoPClientKey, nonce: String?) async throws(OAuthClientError) -> (
        GuardedHTTPClient.Reply, String?
    ) {
        var nonce = nonce
        let body = fields.map { "\(Self.formEncode($0.0))=\(Self.formEncode($0.1))" }.joined(separator: "&")
        for _ in 0..<2 {
            var request = HTTPClientRequest(url: url)
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
            request.headers.add(name: "Accept", value: "application/json")
            request.headers.add(name: "DPoP", value: key.proof(method: "POST", url: url, nonce: nonce))
            request.body = .bytes(ByteBuffer(string: body))
            let reply = try await send(request)
            if let next = reply.headers.first(name: "DPoP-Nonce"), next != nonce {
                nonce = next
                if reply.status == 400, Self.json(reply)?["error"]?.stringValue == "use_dpop_nonce" { continue }
            }
            return (reply, nonce)
        }
        throw .serverProblem("\(url) kept asking for another DPoP nonce")
    }

    /// Sends a request: to this server's own listening address when it is
    /// addressed to its public URL, through the guarded client otherwise.
    func send(_ request: HTTPClientRequest) async throws(OAuthClientError) -> GuardedHTTPClient.Reply {
        let own = services.config.resolvedPublicURL.trimmingSuffix("/")
        guard request.url == own || request.url.hasPrefix(own + "/") else {
            do {
                return try await services.identity.http.send(request, timeout: Self.timeout, maxBytes: Self.maxBody)
            } catch {
                throw .serverProblem("\(URL(string: request.url)?.host ?? request.url): \(error)")
            }
        }
        var direct = request
        direct.url = selfAddress + request.url.dropFirst(own.count)
        do {
            let response = try await GuardedHTTPClient.sharedClient.execute(direct, timeout: .seconds(Int64(Self.timeout.components.seconds)))
            let body = try await response.body.collect(upTo: Self.maxBody)
            return GuardedHTTPClient.Reply(status: Int(response.status.code), headers: response.headers, body: Array(buffer: body))
        } catch {
            throw .serverProblem("this server did not answer itself: \(error)")
        }
    }

    /// Where this server listens, as a URL base.
    private var selfAddress: String {
        let bind = services.config.bindAddress
        let host: String
        switch bind {
        case "0.0.0.0", "": host = "127.0.0.1"
        case "::", "[::]": host = "[::1]"
        default: host = bind.contains(":") && !bind.hasPrefix("[") ? "[\(bind)]" : bind
        }
        return "http://\(host):\(services.config.port)"
    }

    /// The tokens of a token endpoint answer.
    struct Tokens {
        let access: String
        let refresh: String?
        let expiresIn: Int
        let scope: String
        let sub: String
    }

    static func tokens(_ reply: GuardedHTTPClient.Reply) throws(OAuthClientError) -> Tokens {
        guard reply.status == 200, let body = json(reply) else { throw refusal(reply, what: "the token request") }
        guard let access = body["access_token"]?.stringValue, body["token_type"]?.stringValue?.lowercased() == "dpop",
            let sub = body["sub"]?.stringValue
        else { throw .serverProblem("the token endpoint did not answer a DPoP-bound token") }
        let scope = body["scope"]?.stringValue ?? ""
        guard scope.split(separator: " ").contains("atproto") else { throw .serverProblem("the token was granted without the atproto scope") }
        return Tokens(
            access: access, refresh: body["refresh_token"]?.stringValue, expiresIn: Int(body["expires_in"]?.intValue ?? 300), scope: scope,
            sub: sub)
    }

    static func refusal(_ reply: GuardedHTTPClient.Reply, what: String) -> OAuthClientError {
        if let body = json(reply), let code = body["error"]?.stringValue {
            return .refused(code, body["error_description"]?.stringValue ?? "")
        }
        return .serverProblem("\(what) failed with HTTP \(reply.status)")
    }

    static func json(_ reply: GuardedHTTPClient.Reply) -> DataValue? {
        try? ATProtoJSON.decode(reply.body[...], mode: .lenient)
    }

    static func formEncode(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }

    /// SHA-256 of a secret, as stored in place of it.
    public static func hash(_ secret: String) -> String {
        SHA256.hash(data: Array(secret.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    static func now() -> Int { Int(Date().timeIntervalSince1970) }

    /// Runs a store operation, turning its failure into a client error.
    func store<T>(_ body: () async throws -> T) async throws(OAuthClientError) -> T {
        do { return try await body() } catch { throw .serverProblem("the server could not store the sign-in: \(error)") }
    }
}

extension String {
    /// The string without any trailing `suffix`es.
    func trimmingSuffix(_ suffix: String) -> String {
        var out = self
        while !suffix.isEmpty && out.hasSuffix(suffix) { out.removeLast(suffix.count) }
        return out
    }
}
