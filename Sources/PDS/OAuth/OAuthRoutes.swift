import HTTPTypes
import Hummingbird
import NIOCore
import OAuth

/// The routes of the authorization server.
enum OAuthRoutes {
    static func register(on router: Router<PDSRequestContext>, services: PDSServices) {
        let oauth = services.oauth
        router.get("/.well-known/oauth-protected-resource") { _, _ in
            OAuthResponses.json(OAuthMetadata.protectedResource(oauth), nonce: nil).cacheable()
        }
        router.get("/.well-known/oauth-authorization-server") { _, _ in
            OAuthResponses.json(OAuthMetadata.authorizationServer(oauth), nonce: nil).cacheable()
        }
        router.get("/oauth/jwks") { _, _ in OAuthResponses.json(OAuthMetadata.jwks(oauth), nonce: nil).cacheable() }
        router.post("/oauth/par") { request, context in
            if let refused = limited(parLimit, request, context, services) { return refused }
            return await OAuthPAR.handle(request, services: services)
        }
        router.post("/oauth/token") { request, context in
            if let refused = limited(tokenLimit, request, context, services) { return refused }
            return await OAuthTokenEndpoint.handle(request, services: services)
        }
        router.post("/oauth/revoke") { request, context in
            if let refused = limited(tokenLimit, request, context, services) { return refused }
            return await OAuthRevocation.handle(request, services: services)
        }
        router.get("/oauth/authorize") { request, _ in await OAuthAuthorizePage.handle(request, services: services) }
        router.post("/oauth/authorize/sign-in") { request, context in
            await OAuthAuthorizeActions.signIn(request, context: context, services: services)
        }
        router.post("/oauth/authorize/consent") { request, _ in await OAuthAuthorizeActions.consent(request, services: services) }
        router.get("/oauth/apps") { request, _ in await OAuthAppsPage.handle(request, services: services) }
        router.post("/oauth/apps/revoke") { request, _ in await OAuthAppsPage.revoke(request, services: services) }
        router.get("/oauth/assets/style.css") { _, _ in
            asset(OAuthPageHTML.stylesheet, type: "text/css; charset=utf-8")
        }
        router.get("/oauth/assets/form-post.js") { _, _ in
            asset(OAuthPageHTML.formPostScript, type: "text/javascript; charset=utf-8")
        }
    }

    /// Pushed requests per client address: each is a row kept for an hour,
    /// and a person signs in to a few apps at a time, not hundreds.
    static let parLimit = RateLimiter.Limit(name: "oauth-par", max: 100, window: 300)
    /// Token and revocation requests per client address: an app refreshes
    /// each grant every 15 minutes; a server-side app with many users
    /// behind one address needs more, hence 1,000.
    static let tokenLimit = RateLimiter.Limit(name: "oauth-token", max: 1_000, window: 300)

    /// `429` with the OAuth error body when `limit` is used up for the address.
    static func limited(_ limit: RateLimiter.Limit, _ request: Request, _ context: PDSRequestContext, _ services: PDSServices) -> Response? {
        let address = context.clientAddress(of: request, config: services.config)
        guard let wait = services.rateLimiter.hit(limit, key: address) else { return nil }
        var response = OAuthResponses.error(
            OAuthError("rate_limited", "too many requests from this address; try again in \(wait) s", status: 429), nonce: nil)
        response.headers[.retryAfter] = String(wait)
        return response
    }

    static func asset(_ text: String, type: String) -> Response {
        Response(
            status: .ok, headers: [.contentType: type, .cacheControl: "public, max-age=3600"],
            body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}

extension Response {
    /// Metadata documents may be cached for a while (they change with the config only).
    fileprivate func cacheable() -> Response {
        var response = self
        response.headers[.cacheControl] = "public, max-age=300"
        return response
    }
}
