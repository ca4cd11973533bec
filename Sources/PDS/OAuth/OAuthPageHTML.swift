import ATProto
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import OAuth

/// The HTML of the authorization pages, rendered on the server: every
/// page works without JavaScript. Anything from a client's metadata or a
/// user is escaped (``escape(_:)``); the pages forbid framing and load
/// only this server's stylesheet and scripts and https images.
enum OAuthPageHTML {
    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(character)
            }
        }
        return out
    }

    /// The headers of every page: no framing (clickjacking on the consent
    /// button), no caching, no referrer to other sites (the URL holds the
    /// request_uri; `no-referrer` would also make the browser send
    /// `Origin: null` with the forms, which the origin check refuses).
    static func headers(secure: Bool) -> HTTPFields {
        var headers: HTTPFields = [
            .contentType: "text/html; charset=utf-8",
            .cacheControl: "no-store",
            .contentSecurityPolicy:
                "default-src 'none'; style-src 'self'; script-src 'self'; img-src https: data:; frame-ancestors 'none'; base-uri 'none'",
            HTTPField.Name("X-Frame-Options")!: "DENY",
            HTTPField.Name("Referrer-Policy")!: "same-origin",
            HTTPField.Name("X-Content-Type-Options")!: "nosniff",
        ]
        if secure { headers[HTTPField.Name("Strict-Transport-Security")!] = "max-age=31536000" }
        return headers
    }

    static func page(title: String, body: String, status: HTTPResponse.Status = .ok, secure: Bool, extraHeaders: HTTPFields = [:])
        -> Response
    {
        let html = """
            <!doctype html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(escape(title))</title>
            <link rel="stylesheet" href="/oauth/assets/style.css">
            </head>
            <body>
            <main class="card">
            \(body)
            </main>
            </body>
            </html>
            """
        var headers = headers(secure: secure)
        headers.append(contentsOf: extraHeaders)
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: html)))
    }

    /// Hidden form fields.
    static func hidden(_ fields: [(String, String)]) -> String {
        fields.map { "<input type=\"hidden\" name=\"\(escape($0.0))\" value=\"\(escape($0.1))\">" }.joined(separator: "\n")
    }

    /// The client as the pages introduce it: logo, name and its site.
    static func clientHeader(_ client: OAuthClient) -> String {
        var html = "<div class=\"client\">"
        if let logo = client.metadata.logo_uri, logo.hasPrefix("https://") {
            html += "<img class=\"logo\" src=\"\(escape(logo))\" alt=\"\" width=\"48\" height=\"48\">"
        }
        html += "<div><strong class=\"client-name\">\(escape(client.displayName))</strong>"
        if let uri = client.metadata.client_uri, uri.hasPrefix("https://") {
            html += "<br><a href=\"\(escape(uri))\" rel=\"noopener noreferrer\" target=\"_blank\">\(escape(URL(string: uri)?.host ?? uri))</a>"
        } else if client.isLoopback {
            html += "<br><span class=\"muted\">an app on this computer, in development</span>"
        } else {
            html += "<br><span class=\"muted\">\(escape(client.clientID))</span>"
        }
        return html + "</div></div>"
    }

    /// The sign-in form (`POST /oauth/authorize/sign-in`) with its hidden fields.
    /// `asksCode`: with the field for the code mailed to an account that
    /// has sign-in codes on (`emailAuthFactor`).
    static func signInForm(hidden fields: String, identifier: String, asksCode: Bool = false) -> String {
        let code = asksCode
            ? """
            <label for="code">Sign-in code from your email</label>
            <input type="text" id="code" name="code" autocomplete="one-time-code" autocapitalize="characters" spellcheck="false" placeholder="XXXXX-XXXXX" required>

            """
            : ""
        return """
        <form method="post" action="/oauth/authorize/sign-in">
        \(fields)
        <label for="identifier">Handle or email</label>
        <input type="text" id="identifier" name="identifier" value="\(escape(identifier))" autocomplete="username" autocapitalize="none" spellcheck="false" required>
        <label for="password">Password</label>
        <input type="password" id="password" name="password" autocomplete="current-password" required>
        \(code)<label class="check"><input type="checkbox" name="remember" value="1" checked> Stay signed in on this browser</label>
        <div class="actions"><button type="submit" id="sign-in">Sign in</button></div>
        </form>
        """
    }

    static func errorPage(_ message: String, status: HTTPResponse.Status = .badRequest, secure: Bool) -> Response {
        page(
            title: "Sign-in problem",
            body: "<h1>This sign-in cannot continue</h1>\n<p class=\"error\">\(escape(message))</p>\n<p class=\"muted\">Go back to the app and start again.</p>",
            status: status, secure: secure)
    }

    /// The stylesheet of every page.
    static let stylesheet = """
        :root { color-scheme: light dark; --accent: #1083fe; --muted: #6b7280; --border: #d1d5db; --bg: #f3f4f6; --card: #fff; }
        @media (prefers-color-scheme: dark) { :root { --border: #374151; --bg: #111827; --card: #1f2937; --muted: #9ca3af; } }
        * { box-sizing: border-box; }
        body { margin: 0; min-height: 100vh; display: flex; align-items: center; justify-content: center; background: var(--bg);
          font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
        .card { background: var(--card); width: min(26rem, 100% - 2rem); margin: 2rem 0; padding: 1.75rem; border-radius: 12px;
          box-shadow: 0 1px 3px rgb(0 0 0 / 0.12); }
        h1 { font-size: 1.35rem; margin: 0 0 1rem; }
        .client { display: flex; gap: 0.75rem; align-items: center; margin-bottom: 1.25rem; }
        .logo { border-radius: 10px; object-fit: cover; }
        .muted { color: var(--muted); font-size: 0.9rem; }
        .error { color: #b91c1c; background: rgb(185 28 28 / 0.08); padding: 0.6rem 0.75rem; border-radius: 8px; }
        label { display: block; font-weight: 600; margin: 0.75rem 0 0.25rem; }
        label.check { font-weight: 400; display: flex; gap: 0.5rem; align-items: center; }
        input[type=text], input[type=password] { width: 100%; padding: 0.6rem 0.7rem; font: inherit; border: 1px solid var(--border);
          border-radius: 8px; background: transparent; color: inherit; }
        button, .button { display: inline-block; font: inherit; font-weight: 600; padding: 0.6rem 1.1rem; border-radius: 8px;
          border: 1px solid var(--accent); background: var(--accent); color: #fff; cursor: pointer; text-decoration: none; }
        button.secondary { background: transparent; color: inherit; border-color: var(--border); }
        .actions { display: flex; gap: 0.75rem; justify-content: flex-end; margin-top: 1.5rem; }
        ul.permissions { padding-left: 1.2rem; }
        ul.permissions li { margin: 0.35rem 0; }
        ul.accounts { list-style: none; padding: 0; margin: 0; }
        ul.accounts li { margin: 0.5rem 0; }
        ul.accounts button { width: 100%; text-align: left; background: transparent; color: inherit; border-color: var(--border); }
        .client-id { overflow-wrap: anywhere; }
        section.grant { border-top: 1px solid var(--border); padding: 0.9rem 0; }
        section.grant form { margin-top: 0.6rem; }
        h2 { font-size: 1.1rem; margin: 1.25rem 0 0.5rem; }
        a { color: var(--accent); }
        """

    /// Submits a `form_post` answer at once where scripts run (the page's
    /// button does it where they do not).
    static let formPostScript = "document.getElementById('form-post').submit();\n"
}
