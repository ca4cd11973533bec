import ATProto
import Foundation
import HTTPTypes
import Hummingbird
import OAuth

/// `GET /oauth/apps`, "Apps with access": for each account signed in on
/// this browser, the apps it granted access through OAuth (scope, when,
/// last refresh), each with a button that revokes it
/// (`POST /oauth/apps/revoke`). Signing in here uses the authorize
/// pages' sign-in form and cookie.
enum OAuthAppsPage {
    static func handle(_ request: Request, services: PDSServices) async -> Response {
        let oauth = services.oauth
        let secure = oauth.issuer.hasPrefix("https://")
        let device = OAuthDevice(request, secure: secure)
        do {
            let now = Int(Date().timeIntervalSince1970)
            let accounts = try await oauth.devices.accounts(deviceID: device.id, now: now)
            guard !accounts.isEmpty else { return signInPage(device: device, error: nil, services: services) }
            let csrf = OAuthDevice.csrfToken(deviceID: device.id, purpose: "apps", secret: oauth.keys.nonceSecret)
            var body = "<h1>Apps with access</h1>\n"
            for account in accounts {
                let grants = try await oauth.grants.grants(did: account.did, now: now)
                body += "<h2>@\(OAuthPageHTML.escape(account.handle.string))</h2>\n"
                guard !grants.isEmpty else {
                    body += "<p class=\"muted\">No app has access to this account through OAuth.</p>\n"
                    continue
                }
                for grant in grants {
                    let scope = (try? OAuthScope(grant.scope)).map { PermissionDescriptions.describe($0) } ?? [grant.scope]
                    body += """
                        <section class="grant">
                        <strong>\(OAuthPageHTML.escape(grant.clientName ?? "An app"))</strong>
                        <div class="muted client-id">\(OAuthPageHTML.escape(grant.clientID))</div>
                        <ul class="permissions">\(scope.map { "<li>\(OAuthPageHTML.escape($0))</li>" }.joined())</ul>
                        <div class="muted">Signed in \(date(grant.createdAt)); last refreshed \(date(grant.lastUsedAt))</div>
                        <form method="post" action="/oauth/apps/revoke">\(OAuthPageHTML.hidden([("csrf", csrf), ("grant", grant.id), ("did", account.did.string)]))<button type="submit" class="secondary revoke">Revoke access</button></form>
                        </section>

                        """
                }
            }
            return OAuthPageHTML.page(title: "Apps with access", body: body, secure: secure, extraHeaders: device.headers)
        } catch {
            services.logger.error("oauth apps page failed: \(error)")
            return OAuthPageHTML.errorPage("Something went wrong on the server.", status: .internalServerError, secure: secure)
        }
    }

    static func revoke(_ request: Request, services: PDSServices) async -> Response {
        let oauth = services.oauth
        let secure = oauth.issuer.hasPrefix("https://")
        do {
            let checked = try await OAuthAuthorizeActions.check(request, purpose: { _ in "apps" }, services: services)
            let accounts = try await oauth.devices.accounts(deviceID: checked.deviceID, now: Int(Date().timeIntervalSince1970))
            guard let did = checked.form["did"], let account = accounts.first(where: { $0.did.string == did }),
                let grant = checked.form["grant"]
            else { throw OAuthError.accessDenied("That account is not signed in on this browser.") }
            if try await oauth.grants.revoke(grant, did: account.did) {
                services.logger.info("oauth grant revoked by its user", metadata: ["did": .string(did)])
            }
            return OAuthAuthorizeActions.seeOther("/oauth/apps")
        } catch let error as OAuthError {
            return OAuthPageHTML.errorPage(error.message, status: HTTPResponse.Status(code: error.status), secure: secure)
        } catch {
            services.logger.error("oauth revoke from the apps page failed: \(error)")
            return OAuthPageHTML.errorPage("Something went wrong on the server.", status: .internalServerError, secure: secure)
        }
    }

    static func signInPage(device: OAuthDevice, identifier: String = "", error: String?, asksCode: Bool = false, services: PDSServices) -> Response {
        let oauth = services.oauth
        var body = "<h1>Apps with access</h1>\n<p class=\"muted\">Sign in to see and revoke the apps that can use your account.</p>\n"
        if let error { body += "<p class=\"error\" role=\"alert\">\(OAuthPageHTML.escape(error))</p>\n" }
        let csrf = OAuthDevice.csrfToken(deviceID: device.id, purpose: "apps", secret: oauth.keys.nonceSecret)
        body += OAuthPageHTML.signInForm(hidden: OAuthPageHTML.hidden([("csrf", csrf)]), identifier: identifier, asksCode: asksCode)
        return OAuthPageHTML.page(
            title: "Apps with access", body: body, status: error == nil ? .ok : .unauthorized, secure: oauth.issuer.hasPrefix("https://"),
            extraHeaders: device.headers)
    }

    static func date(_ seconds: Int) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withFullDate, .withTime, .withColonSeparatorInTime, .withSpaceBetweenDateAndTime]
        return formatter.string(from: Date(timeIntervalSince1970: TimeInterval(seconds))) + " UTC"
    }
}
