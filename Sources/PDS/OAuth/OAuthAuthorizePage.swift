import ATProto
import Foundation
import HTTPTypes
import Hummingbird
import OAuth

/// `GET /oauth/authorize?client_id=…&request_uri=…`: the page the app
/// opens in the browser. It shows, for a pushed request still waiting:
/// the sign-in form when no account is signed in on this browser (or the
/// app asked for `prompt=login`), the account chooser when some are, and
/// the consent page once an account is chosen.
enum OAuthAuthorizePage {
    /// A pushed request the pages may act on, with its client.
    struct Pending {
        let request: OAuthRequestStore.Request
        let client: OAuthClient
    }

    static func handle(_ request: Request, services: PDSServices) async -> Response {
        let oauth = services.oauth
        let secure = oauth.issuer.hasPrefix("https://")
        let query = request.uri.queryParameters
        let device = OAuthDevice(request, secure: secure)
        do {
            let pending = try await load(
                clientID: query["client_id"].map(String.init), requestURI: query["request_uri"].map(String.init), deviceID: device.id,
                services: services)
            let accounts = try await oauth.devices.accounts(deviceID: device.id, now: Int(Date().timeIntervalSince1970))
            let parameters = pending.request.parameters
            let chosen = query["account"].map(String.init)
            let hint = parameters.loginHint?.lowercased()
            if parameters.prompt == "none" { return try await silently(pending, accounts: accounts, hint: hint, services: services) }
            if let chosen, let account = accounts.first(where: { $0.did.string == chosen }) {
                return await consentPage(pending, account: account, device: device, services: services)
            }
            let wantsLogin = query["login"] == "1" || parameters.prompt == "login" || parameters.prompt == "create"
            if !wantsLogin, let hint, let account = accounts.first(where: { $0.did.string == hint || $0.handle.string == hint }) {
                return await consentPage(pending, account: account, device: device, services: services)
            }
            if accounts.isEmpty || wantsLogin || (hint != nil && parameters.prompt != "select_account") {
                return signInPage(pending, device: device, identifier: parameters.loginHint ?? "", error: nil, services: services)
            }
            return chooserPage(pending, accounts: accounts, device: device, services: services)
        } catch let error as OAuthError {
            return OAuthPageHTML.errorPage(error.message, secure: secure)
        } catch {
            services.logger.error("oauth authorize page failed: \(error)")
            return OAuthPageHTML.errorPage("Something went wrong on the server.", status: .internalServerError, secure: secure)
        }
    }

    /// `prompt=none`: no page may be shown. The request is answered with a
    /// code when the browser is signed in to the account (the one hinted,
    /// or its only one) and that account already granted this client at
    /// least this scope; else the app hears `login_required` or
    /// `consent_required`.
    static func silently(_ pending: Pending, accounts: [Account], hint: String?, services: PDSServices) async throws -> Response {
        let candidates = hint.map { hint in accounts.filter { $0.did.string == hint || $0.handle.string == hint } } ?? accounts
        guard candidates.count == 1, let account = candidates.first else {
            return try await OAuthAuthorizeActions.redirect(pending, error: accounts.isEmpty ? "login_required" : "consent_required", services: services)
        }
        let wanted = try OAuthScope(pending.request.parameters.scope)
        let granted = try await services.oauth.grants.grants(did: account.did, now: Int(Date().timeIntervalSince1970)).contains { grant in
            grant.clientID == pending.client.clientID && (try? OAuthScope(grant.scope)).map { wanted.isWithin($0) } == true
        }
        guard granted else { return try await OAuthAuthorizeActions.redirect(pending, error: "consent_required", services: services) }
        return try await OAuthAuthorizeActions.issueCode(pending, did: account.did, services: services)
    }

    /// The pushed request a page names, which must be this client's, still
    /// waiting for consent, and opened in this browser (the first browser
    /// to open it keeps it).
    static func load(clientID: String?, requestURI: String?, deviceID: String, services: PDSServices) async throws -> Pending {
        let oauth = services.oauth
        guard let clientID else { throw OAuthError.invalidRequest("The link is missing its client_id.") }
        guard let requestURI, requestURI.hasPrefix(OAuthServices.requestURIPrefix) else {
            throw OAuthError.invalidRequest("This server only accepts pushed authorization requests: the link must carry a request_uri.")
        }
        let id = String(requestURI.dropFirst(OAuthServices.requestURIPrefix.count))
        guard let stored = try await oauth.requests.request(id), stored.parameters.clientID == clientID else {
            throw OAuthError.invalidRequestURI("This sign-in request is unknown. It may have been used already.")
        }
        guard stored.expiresAt > Int(Date().timeIntervalSince1970) else {
            throw OAuthError.invalidRequestURI("This sign-in request has expired (they last \(OAuthServices.requestLifetime / 60) minutes).")
        }
        guard stored.did == nil else { throw OAuthError.invalidRequestURI("This sign-in request has already been answered.") }
        guard try await oauth.requests.bind(id, deviceID: deviceID) else {
            throw OAuthError.invalidRequestURI("This sign-in request was opened in another browser.")
        }
        return Pending(request: stored, client: try await oauth.clients.client(clientID))
    }

    static func requestFields(_ pending: Pending, device: String, secret: [UInt8]) -> String {
        OAuthPageHTML.hidden([
            ("client_id", pending.client.clientID), ("request_uri", OAuthServices.requestURIPrefix + pending.request.id),
            ("csrf", OAuthDevice.csrfToken(deviceID: device, purpose: pending.request.id, secret: secret)),
        ])
    }

    static func authorizeLink(_ pending: Pending, extra: String) -> String {
        var parts = URLComponents()
        parts.path = "/oauth/authorize"
        parts.queryItems = [
            URLQueryItem(name: "client_id", value: pending.client.clientID),
            URLQueryItem(name: "request_uri", value: OAuthServices.requestURIPrefix + pending.request.id),
        ]
        return (parts.string ?? "/oauth/authorize") + extra
    }

    static func signInPage(
        _ pending: Pending, device: OAuthDevice, identifier: String, error: String?, asksCode: Bool = false, services: PDSServices
    ) -> Response {
        let oauth = services.oauth
        let host = OAuthPageHTML.escape(services.config.hostname)
        var body = OAuthPageHTML.clientHeader(pending.client)
        body += "<h1>Sign in to \(host)</h1>\n"
        body += "<p class=\"muted\">\(OAuthPageHTML.escape(pending.client.displayName)) asks you to sign in with your account on this server.</p>\n"
        if let error { body += "<p class=\"error\" role=\"alert\">\(OAuthPageHTML.escape(error))</p>\n" }
        body += OAuthPageHTML.signInForm(
            hidden: requestFields(pending, device: device.id, secret: oauth.keys.nonceSecret), identifier: identifier, asksCode: asksCode)
        return OAuthPageHTML.page(title: "Sign in", body: body, status: error == nil ? .ok : .unauthorized, secure: oauth.issuer.hasPrefix("https://"),
            extraHeaders: device.headers)
    }

    static func chooserPage(_ pending: Pending, accounts: [Account], device: OAuthDevice, services: PDSServices) -> Response {
        var body = OAuthPageHTML.clientHeader(pending.client)
        body += "<h1>Choose an account</h1>\n<p class=\"muted\">Signed in on this browser:</p>\n<ul class=\"accounts\">\n"
        for account in accounts {
            let link = OAuthPageHTML.escape(authorizeLink(pending, extra: "&account=" + (account.did.string.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")))
            body += "<li><a class=\"button secondary account\" href=\"\(link)\">@\(OAuthPageHTML.escape(account.handle.string))</a></li>\n"
        }
        body += "</ul>\n<p><a id=\"other-account\" href=\"\(OAuthPageHTML.escape(authorizeLink(pending, extra: "&login=1")))\">Use another account</a></p>"
        return OAuthPageHTML.page(
            title: "Choose an account", body: body, secure: services.oauth.issuer.hasPrefix("https://"), extraHeaders: device.headers)
    }

    static func consentPage(_ pending: Pending, account: Account, device: OAuthDevice, services: PDSServices) async -> Response {
        let oauth = services.oauth
        let scope = (try? OAuthScope(pending.request.parameters.scope)) ?? pending.client.scope
        var sets: [String: PermissionSet] = [:]
        for case .include(let nsid, _) in scope.permissions {
            if case .success(let set) = await oauth.permissionSets.resolve(nsid) { sets[nsid] = set }
        }
        var body = OAuthPageHTML.clientHeader(pending.client)
        body += "<h1>Allow \(OAuthPageHTML.escape(pending.client.displayName)) access?</h1>\n"
        body += "<p>As <strong>@\(OAuthPageHTML.escape(account.handle.string))</strong>, it will be able to:</p>\n<ul class=\"permissions\">\n"
        for line in PermissionDescriptions.describe(scope, sets: sets) { body += "<li>\(OAuthPageHTML.escape(line))</li>\n" }
        body += "</ul>\n"
        if let redirect = URL(string: pending.request.parameters.redirectURI) {
            body += "<p class=\"muted\">You will be sent back to \(OAuthPageHTML.escape(redirect.host ?? redirect.absoluteString)). You can take this access back at any time under <a href=\"/oauth/apps\">Apps with access</a>.</p>\n"
        }
        body += """
            <form method="post" action="/oauth/authorize/consent">
            \(requestFields(pending, device: device.id, secret: oauth.keys.nonceSecret))
            \(OAuthPageHTML.hidden([("did", account.did.string)]))
            <div class="actions">
            <button type="submit" name="decision" value="deny" class="secondary" id="deny">Deny</button>
            <button type="submit" name="decision" value="allow" id="allow">Allow</button>
            </div>
            </form>
            """
        return OAuthPageHTML.page(title: "Allow access", body: body, secure: oauth.issuer.hasPrefix("https://"), extraHeaders: device.headers)
    }
}
