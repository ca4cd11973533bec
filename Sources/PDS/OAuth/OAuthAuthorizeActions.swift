import ATProto
import Foundation
import HTTPTypes
import Hummingbird
import OAuth

/// The forms of the authorize pages: signing in
/// (`POST /oauth/authorize/sign-in`) and answering the consent page
/// (`POST /oauth/authorize/consent`), and the redirect back to the app.
enum OAuthAuthorizeActions {
    /// A form post of the pages, checked: the same origin (when the
    /// browser says), this browser's cookie, and the form token.
    struct CheckedForm {
        let form: OAuthForm
        let deviceID: String
    }

    static func check(_ request: Request, purpose: (OAuthForm) -> String, services: PDSServices) async throws -> CheckedForm {
        let oauth = services.oauth
        if let origin = request.headers[.origin], origin != oauth.issuer {
            throw OAuthError.accessDenied("This form was sent from another site (\(origin)).")
        }
        let form = try await OAuthForm.read(request)
        guard let deviceID = OAuthDevice.existing(request) else {
            throw OAuthError.accessDenied("Your browser did not send this server's cookie; allow cookies for this site and start again.")
        }
        guard OAuthDevice.checkCSRF(form["csrf"], deviceID: deviceID, purpose: purpose(form), secret: oauth.keys.nonceSecret) else {
            throw OAuthError.accessDenied("This form has expired or was not sent from this server's page; start again.")
        }
        return CheckedForm(form: form, deviceID: deviceID)
    }

    /// The request ID a form names.
    static func requestID(_ form: OAuthForm) -> String {
        String((form["request_uri"] ?? "").dropFirst(OAuthServices.requestURIPrefix.count))
    }

    static func signIn(_ request: Request, context: PDSRequestContext, services: PDSServices) async -> Response {
        let oauth = services.oauth
        let secure = oauth.issuer.hasPrefix("https://")
        do {
            let checked = try await check(request, purpose: { $0["request_uri"] == nil ? "apps" : requestID($0) }, services: services)
            let form = checked.form
            let pending: OAuthAuthorizePage.Pending? =
                form["request_uri"] == nil
                ? nil
                : try await OAuthAuthorizePage.load(
                    clientID: form["client_id"], requestURI: form["request_uri"], deviceID: checked.deviceID, services: services)
            let identifier = form["identifier"] ?? ""
            func again(_ message: String, asksCode: Bool = false) -> Response {
                let device = OAuthDevice(request, secure: secure)
                if let pending {
                    return OAuthAuthorizePage.signInPage(
                        pending, device: device, identifier: identifier, error: message, asksCode: asksCode, services: services)
                }
                return OAuthAppsPage.signInPage(device: device, identifier: identifier, error: message, asksCode: asksCode, services: services)
            }
            guard !identifier.isEmpty, let password = form["password"] else { return again("Enter your handle or email and your password.") }
            let verified: ServerMethods.VerifiedPassword
            do {
                verified = try await ServerMethods.verifyPassword(
                    identifier: identifier, password: password, address: context.clientAddress(of: request, config: services.config), services: services)
            } catch let error as XRPCError where error.name == "RateLimitExceeded" {
                return again("Too many attempts. \(error.message).")
            } catch let error as XRPCError where error.status == .unauthorized {
                return again("Wrong handle, email or password.")
            }
            guard verified.appPasswordName == nil else {
                return again("Use your account's password here, not an app password.")
            }
            guard verified.account.status == .active else { return again("This account is not active (\(verified.account.status.rawValue)).") }
            if verified.account.emailAuthFactor {
                do {
                    try await EmailMethods.checkSignInCode(form["code"], account: verified.account, services: services)
                } catch let error as XRPCError where error.name == "AuthFactorTokenRequired" {
                    return again("We sent a sign-in code to your email. Enter it with your password.", asksCode: true)
                } catch let error as XRPCError where error.name == "InvalidToken" || error.name == "ExpiredToken" {
                    return again("That sign-in code is wrong or has expired. Enter your password again to get a new one.")
                } catch let error as XRPCError where error.name == "RateLimitExceeded" {
                    return again("Too many sign-in codes were sent. \(error.message).")
                }
            }
            let now = Int(Date().timeIntervalSince1970)
            // Not remembered: signed in for this sign-in only (ten minutes).
            let until = form["remember"] == "1" ? now + oauth.config.deviceSignInDays * 86_400 : now + 600
            try await oauth.devices.signIn(deviceID: checked.deviceID, did: verified.account.did, now: now, expiresAt: until)
            services.logger.info("oauth sign-in", metadata: ["did": .string(verified.account.did.string)])
            guard let pending else { return seeOther("/oauth/apps") }
            let did = verified.account.did.string.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
            return seeOther(OAuthAuthorizePage.authorizeLink(pending, extra: "&account=" + did))
        } catch let error as OAuthError {
            return OAuthPageHTML.errorPage(error.message, status: HTTPResponse.Status(code: error.status), secure: secure)
        } catch {
            services.logger.error("oauth sign-in failed: \(error)")
            return OAuthPageHTML.errorPage("Something went wrong on the server.", status: .internalServerError, secure: secure)
        }
    }

    static func consent(_ request: Request, services: PDSServices) async -> Response {
        let oauth = services.oauth
        let secure = oauth.issuer.hasPrefix("https://")
        do {
            let checked = try await check(request, purpose: requestID, services: services)
            let form = checked.form
            let pending = try await OAuthAuthorizePage.load(
                clientID: form["client_id"], requestURI: form["request_uri"], deviceID: checked.deviceID, services: services)
            let now = Int(Date().timeIntervalSince1970)
            let accounts = try await oauth.devices.accounts(deviceID: checked.deviceID, now: now)
            guard let did = form["did"], let account = accounts.first(where: { $0.did.string == did }) else {
                throw OAuthError.accessDenied("That account is not signed in on this browser any more; start again.")
            }
            guard form["decision"] == "allow" else {
                try await oauth.requests.delete(pending.request.id)
                return try await redirect(pending, error: "access_denied", services: services)
            }
            return try await issueCode(pending, did: account.did, services: services)
        } catch let error as OAuthError {
            return OAuthPageHTML.errorPage(error.message, status: HTTPResponse.Status(code: error.status), secure: secure)
        } catch {
            services.logger.error("oauth consent failed: \(error)")
            return OAuthPageHTML.errorPage("Something went wrong on the server.", status: .internalServerError, secure: secure)
        }
    }

    /// Answers the request with a new code for `did` and sends the browser back.
    static func issueCode(_ pending: OAuthAuthorizePage.Pending, did: DID, services: PDSServices) async throws -> Response {
        let oauth = services.oauth
        let code = "cod-" + OAuthServices.randomToken()
        let expiry = Int(Date().timeIntervalSince1970) + OAuthServices.codeLifetime
        guard try await oauth.requests.consent(pending.request.id, did: did, codeHash: OAuthServices.hash(code), codeExpiresAt: expiry) else {
            throw OAuthError.invalidRequestURI("This sign-in request has already been answered.")
        }
        return redirect(pending.request.parameters, fields: [("code", code)], issuer: oauth.issuer, secure: oauth.issuer.hasPrefix("https://"))
    }

    /// Sends the browser back to the app with an error (`access_denied`,
    /// `login_required`…), ending the request.
    static func redirect(_ pending: OAuthAuthorizePage.Pending, error: String, services: PDSServices) async throws -> Response {
        try await services.oauth.requests.delete(pending.request.id)
        return redirect(
            pending.request.parameters, fields: [("error", error)], issuer: services.oauth.issuer,
            secure: services.oauth.issuer.hasPrefix("https://"))
    }

    /// The answer to the app at its redirect URI, with `state` and `iss`
    /// (RFC 9207), in the response mode it asked for.
    static func redirect(_ parameters: AuthorizationParameters, fields: [(String, String)], issuer: String, secure: Bool) -> Response {
        let all = fields + [("state", parameters.state), ("iss", issuer)]
        if parameters.responseMode == "form_post" {
            let body = """
                <h1>Returning to the app…</h1>
                <form method="post" action="\(OAuthPageHTML.escape(parameters.redirectURI))" id="form-post">
                \(OAuthPageHTML.hidden(all))
                <div class="actions"><button type="submit">Continue</button></div>
                </form>
                <script src="/oauth/assets/form-post.js"></script>
                """
            return OAuthPageHTML.page(title: "Returning to the app", body: body, secure: secure)
        }
        let encoded = all.map { "\($0.0)=\(formEncode($0.1))" }.joined(separator: "&")
        let uri = parameters.redirectURI
        let location =
            parameters.responseMode == "fragment"
            ? uri + "#" + encoded
            : uri + (uri.contains("?") ? "&" : "?") + encoded
        return seeOther(location)
    }

    static func seeOther(_ location: String) -> Response {
        Response(status: .seeOther, headers: [.location: location, .cacheControl: "no-store"])
    }

    static func formEncode(_ value: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return value.addingPercentEncoding(withAllowedCharacters: allowed) ?? value
    }
}
