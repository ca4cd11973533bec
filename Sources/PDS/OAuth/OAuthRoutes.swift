import Hummingbird
import NIOCore

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
        router.post("/oauth/par") { request, _ in await OAuthPAR.handle(request, services: services) }
        router.post("/oauth/token") { request, _ in await OAuthTokenEndpoint.handle(request, services: services) }
        router.post("/oauth/revoke") { request, _ in await OAuthRevocation.handle(request, services: services) }
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
