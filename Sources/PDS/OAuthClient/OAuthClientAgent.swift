import ATProto
import AsyncHTTPClient
import Crypto
import Foundation
import Identity
import NIOCore
import NIOHTTP1
import OAuth

/// This server as an OAuth client of people's own PDSes (the atproto
/// OAuth profile, as an app sees it): finds the authorization server of
/// a handle's PDS, signs in through a pushed authorization request with
/// PKCE and a DPoP key of the sign-in's own, exchanges the code, and then
/// calls the person's PDS with the DPoP-bound token, refreshing it when it
/// runs out. Users of this PDS sign in the same way, against this server.
///
/// Outbound requests go through the guarded client (no private addresses
/// unless configured). Requests to this server itself go straight to the
/// address it listens on: a development server's `http://localhost` is a
/// private address the guard refuses, and a hairpin through the public
/// name is not guaranteed to exist.
public final class OAuthClientAgent: Sendable {
    /// Who the client is: its `client_id`, where the browser comes back,
    /// and the scope it asks for.
    public struct Registration: Sendable {
        public let clientID: String
        public let redirectURI: String
        public let scope: String

        public init(clientID: String, redirectURI: String, scope: String) {
            self.clientID = clientID
            self.redirectURI = redirectURI
            self.scope = scope
        }
    }

    let services: PDSServices
    public let registration: Registration
    /// One refresh at a time per session: a refresh token is single-use,
    /// and two pages refreshing at once would spend it twice.
    private let refreshes = KeyedLock<String>()

    /// How long a signed-in browser stays signed in (the atproto limit on
    /// a public client's grant).
    public static let sessionLifetime = 14 * 86_400
    /// Refresh this long before the access token's stated expiry.
    static let refreshMargin = 30
    static let timeout: Duration = .seconds(10)
    static let maxBody = 256 * 1024

    public init(services: PDSServices, registration: Registration) {
        self.services = services
        self.registration = registration
    }

    // MARK: - Sign-in

    /// Starts signing in `identifier` (a handle or DID): pushes the
    /// authorization request and answers the URL to send the browser to.
    /// - Parameter browserSecret: the value of a cookie set on the browser,
    ///   which the callback must carry back.
    public func start(identifier: String, browserSecret: String, returnTo: String) async throws(OAuthClientError) -> String {
        let (did, pdsURL) = try await locate(identifier)
        let server = try await authorizationServer(ofPDS: pdsURL)
        let key = DPoPClientKey()
        let verifier = Base64URL.encode(OAuthServices.randomBytes(48))
        let state = Base64URL.encode(OAuthServices.randomBytes(24))
        var fields = [
            ("client_id", registration.clientID), ("response_type", "code"), ("redirect_uri", registration.redirectURI),
            ("scope", registration.scope), ("state", state), ("code_challenge", Base64URL.sha256(verifier)),
            ("code_challenge_method", "S256"),
        ]
        let hint = identifier.trimmingCharacters(in: .whitespaces).lowercased()
        if !hint.isEmpty { fields.append(("login_hint", hint.hasPrefix("@") ? String(hint.dropFirst()) : hint)) }
        let (reply, nonce) = try await postForm(server.parEndpoint, fields, key: key, nonce: nil)
        guard reply.status == 201 || reply.status == 200, let requestURI = Self.json(reply)?["request_uri"]?.stringValue else {
            throw Self.refusal(reply, what: "the pushed authorization request")
        }
        try await store {
            try await services.oauthClients.save(
                OAuthClientStore.Request(
                    state: state, browserHash: Self.hash(browserSecret),
                    server: .init(issuer: server.issuer, tokenEndpoint: server.tokenEndpoint, revocationEndpoint: server.revocationEndpoint),
                    pdsURL: pdsURL, expectedDID: did, codeVerifier: verifier, dpopKey: key.rawRepresentation, dpopNonce: nonce,
                    returnTo: returnTo, createdAt: Self.now()))
        }
        var url = URLComponents(string: server.authorizationEndpoint)
        let existing = url?.queryItems ?? []
        url?.queryItems = existing + [
            URLQueryItem(name: "client_id", value: registration.clientID), URLQueryItem(name: "request_uri", value: requestURI),
        ]
        guard let location = url?.url?.absoluteString else { throw .serverProblem("the authorization endpoint is not a URL") }
        return location
    }

    /// What a finished sign-in gives: the session and the secret of its
    /// cookie (stored only as a hash).
    public struct SignedIn: Sendable {
        public let session: OAuthClientStore.Session
        public let cookie: String
        public let returnTo: String
    }

    /// Finishes a sign-in from the callback's query: checks the state, the
    /// browser and the issuer, exchanges the code, and checks that the
    /// account it names is served by that authorization server.
    public func complete(state: String, code: String, issuer: String?, browserSecret: String?) async throws(OAuthClientError) -> SignedIn {
        guard let request = try await store({ try await services.oauthClients.takeRequest(state: state, now: Self.now()) }) else {
            throw .invalidCallback("this sign-in has expired or was already used; sign in again")
        }
        guard let browserSecret, Self.hash(browserSecret) == request.browserHash else {
            throw .invalidCallback("this sign-in was started in another browser; sign in again here")
        }
        // RFC 9207: the issuer in the response must be the one asked.
        guard issuer == request.server.issuer else { throw .invalidCallback("the sign-in came back from another authorization server") }
        let key: DPoPClientKey
        do { key = try DPoPClientKey(rawRepresentation: request.dpopKey) } catch { throw .invalidCallback("the sign-in's key is unreadable") }
        let (reply, nonce) = try await postForm(
            request.server.tokenEndpoint,
            [
                ("grant_type", "authorization_code"), ("code", code), ("redirect_uri", registration.redirectURI),
                ("code_verifier", request.codeVerifier), ("client_id", registration.clientID),
            ], key: key, nonce: request.dpopNonce)
        let tokens = try Self.tokens(reply)
        guard let did = try? DID(tokens.sub) else { throw .serverProblem("the token names no account (sub)") }
        if let expected = request.expectedDID, expected != did {
            throw .invalidCallback("you signed in as another account than the one you named")
        }
        // The spec's check: the account's own PDS must name this issuer,
        // or any authorization server could speak for any DID.
        let (_, pdsURL) = try await locate(did.string)
        guard try await authorizationServer(ofPDS: pdsURL).issuer == request.server.issuer else {
            throw .invalidCallback("\(did)'s PDS does not use the authorization server you signed in with")
        }
        let cookie = Base64URL.encode(OAuthServices.randomBytes(32))
        let now = Self.now()
        let session = OAuthClientStore.Session(
            idHash: Self.hash(cookie), did: did, server: request.server, pdsURL: pdsURL, scope: tokens.scope,
            accessToken: tokens.access, accessExpiresAt: now + tokens.expiresIn, refreshToken: tokens.refresh,
            dpopKey: request.dpopKey, authNonce: nonce, pdsNonce: nil, csrf: Base64URL.encode(OAuthServices.randomBytes(24)),
            createdAt: now, expiresAt: now + Self.sessionLifetime)
        try await store { try await services.oauthClients.save(session) }
        return SignedIn(session: session, cookie: cookie, returnTo: request.returnTo)
    }

    /// The session whose cookie is `cookie`, if it is current.
    public func session(cookie: String) async throws -> OAuthClientStore.Session? {
        try await services.oauthClients.session(idHash: Self.hash(cookie), now: Self.now())
    }

    /// Signs out: revokes the refresh token (best effort) and forgets the session.
    public func signOut(_ session: OAuthClientStore.Session) async {
        if let endpoint = session.server.revocationEndpoint, let token = session.refreshToken,
            let key = try? DPoPClientKey(rawRepresentation: session.dpopKey)
        {
            _ = try? await postForm(endpoint, [("token", token), ("client_id", registration.clientID)], key: key, nonce: session.authNonce)
        }
        try? await services.oauthClients.deleteSession(idHash: session.idHash)
    }

    // MARK: - Calls to the person's PDS

    /// A procedure (`POST /xrpc/<nsid>`, JSON in and out) on the session's
    /// PDS, with its DPoP-bound token; refreshes the token first when it
    /// has run out, and once more if the PDS says it is no longer good.
    public func procedure(_ session: OAuthClientStore.Session, _ nsid: String, input: DataValue) async throws(OAuthClientError) -> (
        status: Int, body: DataValue?
    ) {
        var current = session
        if current.accessExpiresAt - Self.refreshMargin <= Self.now() { current = try await refresh(current) }
        var reply = try await call(current, nsid, input: input)
        if reply.status == 401 {
            current = try await refresh(current, unlessChangedFrom: current.accessToken)
            reply = try await call(current, nsid, input: input)
        }
        return (reply.status, Self.json(reply))
    }

    private func call(_ session: OAuthClientStore.Session, _ nsid: String, input: DataValue) async throws(OAuthClientError)
        -> GuardedHTTPClient.Reply
    {
        let key: DPoPClientKey
        do { key = try DPoPClientKey(rawRepresentation: session.dpopKey) } catch { throw .sessionEnded }
        let url = session.pdsURL.trimmingSuffix("/") + "/xrpc/" + nsid
        var nonce = session.pdsNonce
        for _ in 0..<2 {
            var request = HTTPClientRequest(url: url)
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/json")
            request.headers.add(name: "Authorization", value: "DPoP " + session.accessToken)
            request.headers.add(name: "DPoP", value: key.proof(method: "POST", url: url, nonce: nonce, accessToken: session.accessToken))
            request.body = .bytes(ByteBuffer(bytes: ATProtoJSON.encode(input)))
            let reply = try await send(request)
            if let next = reply.headers.first(name: "DPoP-Nonce"), next != nonce {
                nonce = next
                try await store { try await services.oauthClients.updatePDSNonce(idHash: session.idHash, nonce: next) }
                let wantsNonce = reply.status == 401 && (reply.headers.first(name: "WWW-Authenticate") ?? "").contains("use_dpop_nonce")
                if wantsNonce { continue }
            }
            return reply
        }
        throw .serverProblem("the PDS kept asking for another DPoP nonce")
    }

    /// Spends the refresh token for a new access token (and the refresh
    /// token that replaces it). Under the session's lock: a caller that
    /// waited for another's refresh gets that one's tokens instead.
    func refresh(_ session: OAuthClientStore.Session, unlessChangedFrom spent: String? = nil) async throws(OAuthClientError)
        -> OAuthClientStore.Session
    {
        do {
            return try await refreshes.withLock(session.idHash) { [self] in
                guard var latest = try await services.oauthClients.session(idHash: session.idHash, now: Self.now()) else {
                    throw OAuthClientError.sessionEnded
                }
                let stale = spent ?? latest.accessToken
                if latest.accessToken != stale || (spent == nil && latest.accessExpiresAt - Self.refreshMargin > Self.now()) {
                    return latest
                }
                guard let refreshToken = latest.refreshToken, let key = try? DPoPClientKey(rawRepresentation: latest.dpopKey) else {
                    throw OAuthClientError.sessionEnded
                }
                let (reply, nonce) = try await postForm(
                    latest.server.tokenEndpoint,
                    [("grant_type", "refresh_token"), ("refresh_token", refreshToken), ("client_id", registration.clientID)],
                    key: key, nonce: latest.authNonce)
                guard reply.status == 200 else {
                    // invalid_grant: revoked, expired or already spent. The session is over.
                    if reply.status == 400 || reply.status == 401 { try await services.oauthClients.deleteSession(idHash: latest.idHash) }
                    throw OAuthClientError.sessionEnded
                }
                let tokens = try Self.tokens(reply)
                guard tokens.sub == latest.did.string else { throw OAuthClientError.serverProblem("the refreshed token names another account") }
                latest.accessToken = tokens.access
                latest.accessExpiresAt = Self.now() + tokens.expiresIn
                latest.refreshToken = tokens.refresh ?? latest.refreshToken
                latest.authNonce = nonce
                try await services.oauthClients.updateTokens(
                    idHash: latest.idHash, accessToken: latest.accessToken, accessExpiresAt: latest.accessExpiresAt,
                    refreshToken: latest.refreshToken, authNonce: nonce)
                return latest
            }
        } catch let error as OAuthClientError {
            throw error
        } catch {
            throw .serverProblem("could not save the refreshed tokens: \(error)")
        }
    }
}
