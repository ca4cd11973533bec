import ATProto
import FeedGen
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import OAuth
import PDS

/// The Atrarium dashboard's web pages under `/dashboard`: server-rendered
/// HTML that works without JavaScript. People sign in with their own PDS
/// through OAuth (``OAuthClientAgent``), and every action goes through the
/// same handler as the JSON API (``DashboardAPI``), so a page can neither
/// do what the API would refuse nor skip its rate limits: the pages are
/// forms over the API, with its answers shown as HTML and its errors
/// beside the field they name.
struct DashboardPages: Sendable {
    let api: DashboardAPI
    let agent: OAuthClientAgent
    let templates: PageTemplates
    let busiestCommunities = BusiestCommunities()
    var services: PDSServices { api.services }

    static let sessionCookie = "atrarium-session"
    static let signInCookie = "atrarium-signin"
    /// What the dashboard asks the person's PDS to let it write: the
    /// Atrarium records and the feed's generator record, nothing else.
    static let scope = [
        "atproto", "repo:net.atrarium.community.config", "repo:net.atrarium.community.membership", "repo:net.atrarium.community.approval",
        "repo:net.atrarium.moderation.action", "repo:app.bsky.feed.generator",
    ].joined(separator: " ")

    init(api: DashboardAPI) throws {
        self.api = api
        templates = try PageTemplates()
        agent = OAuthClientAgent(services: api.services, registration: Self.registration(api.services.config))
    }

    /// The dashboard as an OAuth client: on an https server, a web client
    /// whose metadata document this server serves; on a development
    /// server, the spec's loopback client (no document; the redirect must
    /// be to `127.0.0.1`).
    static func registration(_ config: PDSConfig) -> OAuthClientAgent.Registration {
        let origin = config.resolvedPublicURL.trimmingCharacters(in: CharacterSet(charactersIn: "/"))
        if origin.hasPrefix("https://") {
            return .init(clientID: origin + "/dashboard/client-metadata.json", redirectURI: origin + "/dashboard/oauth/callback", scope: scope)
        }
        let redirect = "http://127.0.0.1:\(config.port)/dashboard/oauth/callback"
        var query = URLComponents()
        query.queryItems = [URLQueryItem(name: "redirect_uri", value: redirect), URLQueryItem(name: "scope", value: scope)]
        return .init(clientID: "http://localhost?" + (query.percentEncodedQuery ?? ""), redirectURI: redirect, scope: scope)
    }

    /// A signed-in person, as the pages know them.
    struct SignedInUser: Sendable {
        let caller: DashboardCaller
        let session: OAuthClientStore.Session
        let handle: String
    }

    /// One page request.
    struct Page: Sendable {
        let request: Request
        let context: PDSRequestContext
        let language: PageLanguage
        let user: SignedInUser?
        /// The form of a POST, its CSRF token checked.
        let form: OAuthForm?
        /// Cookies to set on whatever answers the request.
        var cookies: [String] = []

        var strings: [String: String] { language.strings }
        func t(_ key: String) -> String { strings[key] ?? key }
        func field(_ name: String) -> String? { form?[name] }
        var signedIn: SignedInUser {
            get throws { guard let user else { throw DashboardError.unauthorized("AuthenticationRequired", "sign in first") }; return user }
        }
    }

    typealias Handler = @Sendable (DashboardPages, inout Page) async throws -> Response

    func register(on router: Router<PDSRequestContext>) {
        router.get("/dashboard/assets/dashboard.css") { _, _ in Self.asset(templates.stylesheet, type: "text/css; charset=utf-8") }
        router.get("/dashboard/assets/dashboard.js") { _, _ in Self.asset(templates.script, type: "text/javascript; charset=utf-8") }
        router.get("/dashboard/client-metadata.json") { _, _ in clientMetadata() }
        let routes: [(HTTPRequest.Method, String, Bool, Handler)] = [
            (.get, "/dashboard", false, { try await $0.home(&$1) }),
            (.get, "/dashboard/signin", false, { try await $0.signInPage(&$1) }),
            (.post, "/dashboard/signin", false, { try await $0.startSignIn(&$1) }),
            (.get, "/dashboard/oauth/callback", false, { try await $0.callback(&$1) }),
            (.post, "/dashboard/signout", true, { try await $0.signOut(&$1) }),
            (.get, "/dashboard/new", true, { try await $0.newCommunityPage(&$1) }),
            (.post, "/dashboard/new", true, { try await $0.createCommunity(&$1) }),
            (.get, "/dashboard/c/:id", true, { try await $0.communityPage(&$1) }),
            (.get, "/dashboard/c/:id/edit", true, { try await $0.editPage(&$1) }),
            (.post, "/dashboard/c/:id/edit", true, { try await $0.saveCommunity(&$1) }),
            (.post, "/dashboard/c/:id/join", true, { try await $0.join(&$1) }),
            (.post, "/dashboard/c/:id/leave", true, { try await $0.leave(&$1) }),
            (.get, "/dashboard/c/:id/members", true, { try await $0.membersPage(&$1) }),
            (.post, "/dashboard/c/:id/members", true, { try await $0.memberAction(&$1) }),
            (.get, "/dashboard/c/:id/moderation", true, { try await $0.moderationPage(&$1) }),
            (.post, "/dashboard/c/:id/moderation", true, { try await $0.moderate(&$1) }),
        ]
        for (method, path, needsUser, handler) in routes {
            router.on(RouterPath(path), method: method) { request, context in
                await serve(request, context, needsUser: needsUser, handler)
            }
        }
    }

    // MARK: - Serving

    private func serve(_ request: Request, _ context: PDSRequestContext, needsUser: Bool, _ handler: Handler) async -> Response {
        // A development server's dashboard is a loopback OAuth client whose
        // callback is on 127.0.0.1: cookies set on `localhost` would not
        // be sent there, so the pages are used on 127.0.0.1 from the start.
        if request.method == .get, !agent.registration.clientID.hasPrefix("https://"),
            let authority = request.head.authority, authority.lowercased().hasPrefix("localhost")
        {
            return Self.redirect("http://127.0.0.1:\(services.config.port)\(request.uri.string)")
        }
        let cookies = Self.cookies(request)
        var language = PageLanguage.of(cookie: cookies[PageLanguage.cookieName], acceptLanguage: request.headers[.acceptLanguage])
        var setCookies: [String] = []
        if let chosen = request.uri.queryParameters["lang"].flatMap({ PageLanguage(rawValue: String($0)) }) {
            language = chosen
            setCookies.append("\(PageLanguage.cookieName)=\(chosen.rawValue); Path=/dashboard; Max-Age=31536000; SameSite=Lax")
        }
        var page = Page(request: request, context: context, language: language, user: nil, form: nil, cookies: setCookies)
        do {
            let perAddress = RateLimiter.Limit(name: "ip", max: services.config.rateLimits.requestsPerFiveMinutes, window: 300)
            if let wait = services.rateLimiter.hit(perAddress, key: context.clientAddress(of: request, config: services.config)) {
                throw DashboardError(.tooManyRequests, "RateLimitExceeded", "Too many requests; try again in \(wait) s", retryAfter: wait)
            }
            let user = try await signedInUser(cookie: cookies[Self.sessionCookie])
            if let user, let wait = services.rateLimiter.hit(.init(name: "dashboard", max: api.config.requestsPerHour, window: 3600), key: user.caller.did.string) {
                throw DashboardError(.tooManyRequests, "RateLimitExceeded", "Too many requests; try again in \(wait) s", retryAfter: wait)
            }
            if needsUser && user == nil {
                if request.method == .get { return Self.redirect("/dashboard/signin", cookies: page.cookies) }
                throw DashboardError.unauthorized("AuthenticationRequired", "your sign-in has ended; sign in again")
            }
            var form: OAuthForm?
            if request.method == .post {
                form = try await checkedForm(request, user: user)
            }
            page = Page(request: request, context: context, language: language, user: user, form: form, cookies: setCookies)
            return try await handler(self, &page)
        } catch {
            return errorPage(error, page)
        }
    }

    /// A POST's form, after the cross-site checks: the browser's `Origin`
    /// (when sent) must be this server's, and a signed-in form must carry
    /// the session's CSRF token.
    private func checkedForm(_ request: Request, user: SignedInUser?) async throws -> OAuthForm {
        if let origin = request.headers[.origin], let host = request.head.authority {
            guard let url = URL(string: origin), let originHost = url.host,
                "\(originHost)\(url.port.map { ":\($0)" } ?? "")".lowercased() == host.lowercased()
            else { throw DashboardError.forbidden("this form was sent from another site") }
        }
        let form: OAuthForm
        do { form = try await OAuthForm.read(request) } catch { throw DashboardError.badRequest(error.message) }
        if let user {
            guard let token = form["csrf"], AdminAuthGuard.constantTimeEqual(Array(token.utf8), Array(user.session.csrf.utf8)) else {
                throw DashboardError.forbidden("this form has expired or did not come from this dashboard; reload the page and try again")
            }
        }
        return form
    }

    /// The person the session cookie names, if it is current.
    private func signedInUser(cookie: String?) async throws -> SignedInUser? {
        guard let cookie, cookie.utf8.count == 43, let session = try await agent.session(cookie: cookie) else { return nil }
        let local = try await api.writer.hostedAccount(did: session.did)
        if let local, local.status != .active { return nil }
        let caller = DashboardCaller(
            did: session.did, isLocal: local != nil, remote: local == nil ? .init(agent: agent, session: session) : nil)
        var handle = local?.handle.string
        if handle == nil { handle = (try? await services.identity.dids.resolve(session.did))?.handle }
        return SignedInUser(caller: caller, session: session, handle: handle.map { "@" + $0 } ?? session.did.string)
    }

    // MARK: - Rendering

    /// The context every template sees: texts, language switch, the user.
    func baseContext(_ page: Page, title: String) -> [String: Any] {
        var context: [String: Any] = [
            "t": page.strings, "lang": page.language.rawValue, "title": title,
            "languages": PageLanguage.allCases.map { ["code": $0.rawValue, "name": $0 == .en ? "English" : "日本語", "current": $0 == page.language] },
        ]
        if let user = page.user { context["user"] = ["handle": user.handle, "csrf": user.session.csrf] }
        if let notice = page.request.uri.queryParameters["notice"].map(String.init), Self.notices.contains(notice) {
            context["notice"] = page.t(notice)
        }
        return context
    }

    /// The notices a redirect may ask a page to show (`?notice=saved`).
    static let notices: Set<String> = [
        "saved", "created", "joined", "asked", "left", "approved", "removed", "role_changed", "hidden", "shown", "blocked_done",
        "unblocked_done", "signed_out",
    ]

    func html(_ template: String, _ context: [String: Any], _ page: Page, status: HTTPResponse.Status = .ok) -> Response {
        var headers: HTTPFields = [
            .contentType: "text/html; charset=utf-8", .cacheControl: "no-store",
            .contentSecurityPolicy:
                "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'",
            HTTPField.Name("X-Frame-Options")!: "DENY", HTTPField.Name("Referrer-Policy")!: "same-origin",
            HTTPField.Name("X-Content-Type-Options")!: "nosniff",
        ]
        for cookie in page.cookies { headers.append(HTTPField(name: .setCookie, value: cookie)) }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: templates.render(template, context))))
    }

    static func redirect(_ location: String, cookies: [String] = []) -> Response {
        var headers: HTTPFields = [.location: location, .cacheControl: "no-store"]
        for cookie in cookies { headers.append(HTTPField(name: .setCookie, value: cookie)) }
        return Response(status: .seeOther, headers: headers)
    }

    private func errorPage(_ error: any Error, _ page: Page) -> Response {
        guard let failure = DashboardError.from(error) else {
            page.context.logger.error("dashboard page \(page.request.method) \(page.request.uri.path): \(error)")
            return html("error", baseContext(page, title: page.t("error")).merging(["heading": page.t("error"), "message": page.t("error")]) { $1 }, page, status: .internalServerError)
        }
        let heading = failure.status == .notFound ? page.t("not_found") : failure.status == .forbidden ? page.t("forbidden") : page.t("error")
        var response = html(
            "error", baseContext(page, title: heading).merging(["heading": heading, "message": failure.message]) { $1 }, page, status: failure.status)
        if let wait = failure.retryAfter { response.headers[.retryAfter] = String(wait) }
        return response
    }

    static func asset(_ bytes: [UInt8], type: String) -> Response {
        Response(
            status: .ok, headers: [.contentType: type, .cacheControl: "public, max-age=3600", HTTPField.Name("X-Content-Type-Options")!: "nosniff"],
            body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    // MARK: - Helpers

    static func cookies(_ request: Request) -> [String: String] {
        var out: [String: String] = [:]
        for header in request.headers[values: .cookie] {
            for pair in header.split(separator: ";") {
                let parts = pair.trimmingCharacters(in: .whitespaces).split(separator: "=", maxSplits: 1)
                if parts.count == 2, out[String(parts[0])] == nil { out[String(parts[0])] = String(parts[1]) }
            }
        }
        return out
    }

    /// `Secure` on an https server; every dashboard cookie is HttpOnly and
    /// SameSite=Lax (sent on the authorization server's redirect back, a
    /// top-level GET; never on another site's POST).
    func cookie(_ name: String, _ value: String, maxAge: Int) -> String {
        "\(name)=\(value); Path=/dashboard; Max-Age=\(maxAge); HttpOnly; SameSite=Lax"
            + (services.config.resolvedPublicURL.hasPrefix("https://") ? "; Secure" : "")
    }
}
