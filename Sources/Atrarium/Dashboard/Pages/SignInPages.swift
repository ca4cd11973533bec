import ATProto
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import OAuth
import PDS

/// Signing in and out: the handle form, the OAuth redirect and callback,
/// and the client metadata document of an https server.
extension DashboardPages {
    /// `GET /dashboard/signin`.
    func signInPage(_ page: inout Page, identifier: String = "", error: String? = nil, status: HTTPResponse.Status = .ok) async throws
        -> Response
    {
        if page.user != nil { return Self.redirect("/dashboard", cookies: page.cookies) }
        var context = baseContext(page, title: page.t("sign_in_title"))
        context["identifier"] = identifier
        if let error { context["errors"] = ["identifier": error] }
        context["overview"] = try await overview(page)
        return html("signin", context, page, status: status)
    }

    /// `POST /dashboard/signin`: resolves the handle, pushes the
    /// authorization request to the person's authorization server, and
    /// sends the browser there. A cookie binds the sign-in to this browser.
    func startSignIn(_ page: inout Page) async throws -> Response {
        let identifier = page.field("identifier") ?? ""
        let secret = Base64URL.encode((0..<32).map { _ in UInt8.random(in: 0...255) })
        do {
            let location = try await agent.start(identifier: identifier, browserSecret: secret, returnTo: "/dashboard")
            page.cookies.append(cookie(Self.signInCookie, secret, maxAge: OAuthClientStore.requestLifetime))
            return Self.redirect(location, cookies: page.cookies)
        } catch {
            return try await signInPage(&page, identifier: identifier, error: error.description, status: .badRequest)
        }
    }

    /// `GET /dashboard/oauth/callback?code&state&iss` (or `error`).
    func callback(_ page: inout Page) async throws -> Response {
        let query = page.request.uri.queryParameters
        func value(_ name: String) -> String? { query[Substring(name)].map(String.init) }
        page.cookies.append(cookie(Self.signInCookie, "", maxAge: 0))
        if let error = value("error") {
            let message = value("error_description") ?? error
            return try await signInPage(&page, error: error == "access_denied" ? "You did not allow the dashboard: \(message)" : message, status: .badRequest)
        }
        guard let state = value("state"), let code = value("code") else {
            return try await signInPage(&page, error: "the sign-in came back without a code; sign in again", status: .badRequest)
        }
        do {
            let signedIn = try await agent.complete(
                state: state, code: code, issuer: value("iss"), browserSecret: Self.cookies(page.request)[Self.signInCookie])
            page.cookies.append(cookie(Self.sessionCookie, signedIn.cookie, maxAge: OAuthClientAgent.sessionLifetime))
            return Self.redirect(signedIn.returnTo, cookies: page.cookies)
        } catch {
            return try await signInPage(&page, error: error.description, status: .badRequest)
        }
    }

    /// `POST /dashboard/signout`: revokes the grant and forgets the session.
    func signOut(_ page: inout Page) async throws -> Response {
        await agent.signOut(try page.signedIn.session)
        page.cookies.append(cookie(Self.sessionCookie, "", maxAge: 0))
        return Self.redirect("/dashboard/signin?notice=signed_out", cookies: page.cookies)
    }

    /// `GET /dashboard/client-metadata.json`: the dashboard's OAuth client
    /// metadata (only an https server's client is identified by it; a
    /// development server's is a loopback client and has none).
    func clientMetadata() -> Response {
        let registration = agent.registration
        guard registration.clientID.hasPrefix("https://") else {
            return Response(status: .notFound, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: #"{"error":"NotFound","message":"a development server's dashboard is a loopback client: it has no metadata document"}"#)))
        }
        let origin = services.config.resolvedPublicURL.trimmingCharacters(in: CharacterSet(charactersIn: "/"))
        let document: DataValue = [
            "client_id": .string(registration.clientID), "client_name": "Atrarium dashboard", "client_uri": .string(origin + "/dashboard"),
            "redirect_uris": [.string(registration.redirectURI)], "scope": .string(registration.scope),
            "grant_types": ["authorization_code", "refresh_token"], "response_types": ["code"],
            "token_endpoint_auth_method": "none", "application_type": "web", "dpop_bound_access_tokens": true,
        ]
        return Response(
            status: .ok, headers: [.contentType: "application/json", .cacheControl: "public, max-age=600"],
            body: .init(byteBuffer: ByteBuffer(bytes: ATProtoJSON.encode(document))))
    }
}
