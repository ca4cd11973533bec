import ATProto
import AsyncHTTPClient
import Crypto
import Foundation
import NIOCore
import NIOHTTP1
import OAuth

/// An OAuth client for `pds bench server --oauth`: signs an account in as
/// a loopback development client would, through PAR, the sign-in and
/// consent forms and the token endpoint, and then makes a DPoP proof for
/// each request.
struct BenchOAuthClient: Sendable {
    /// The server's issuer, which proofs name (`htu`).
    let origin: String
    let did: String
    let accessToken: String
    let key: SigningKey
    /// The server's DPoP nonce (good for three to six minutes, longer than a run).
    let nonce: String
    let ath: String

    static let redirect = "http://127.0.0.1:9/callback"
    static var clientID: String {
        "http://localhost?redirect_uri=" + encode(redirect) + "&scope=" + encode("atproto transition:generic")
    }

    /// The client's DPoP key and the encoded header of its proofs, made
    /// once: the load generator shares the server's two cores, and
    /// rebuilding both for every request cost it 90 µs a proof.
    final class SigningKey: @unchecked Sendable {
        // Immutable after init; BoringSSL signs with one key from several
        // threads safely. (swift-crypto does not mark the key `Sendable`.)
        let key = P256.Signing.PrivateKey()
        let header: String

        init() {
            let point = key.publicKey.rawRepresentation
            let jwk = "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"\(Base64URL.encode(point.prefix(32)))\",\"y\":\"\(Base64URL.encode(point.suffix(32)))\"}"
            header = Base64URL.encode(Array("{\"alg\":\"ES256\",\"jwk\":\(jwk),\"typ\":\"dpop+jwt\"}".utf8))
        }
    }

    /// A proof for one request (a fresh `jti` each time).
    func proof(htm: String, path: String) -> String {
        Self.proof(key: key, htm: htm, htu: origin + path, nonce: nonce, ath: ath)
    }

    static func proof(key: SigningKey, htm: String, htu: String, nonce: String?, ath: String? = nil) -> String {
        var claims = "{\"htm\":\"\(htm)\",\"htu\":\"\(htu)\",\"iat\":\(Int(Date().timeIntervalSince1970)),\"jti\":\"\(UUID().uuidString)\""
        if let nonce { claims += ",\"nonce\":\"\(nonce)\"" }
        if let ath { claims += ",\"ath\":\"\(ath)\"" }
        claims += "}"
        let input = key.header + "." + Base64URL.encode(Array(claims.utf8))
        let signature = try! key.key.signature(for: Data(input.utf8)).rawRepresentation
        return input + "." + Base64URL.encode(signature)
    }

    /// Signs `handle` in and returns a client holding its tokens.
    /// - Parameter address: where the server listens (`http://127.0.0.1:port`);
    ///   its issuer, which proofs and the forms' `Origin` name, may differ
    ///   (`http://localhost:port`).
    static func signIn(http: HTTPClient, address: String, handle: String, password: String) async throws -> BenchOAuthClient {
        let discovery = try await http.execute(HTTPClientRequest(url: address + "/.well-known/oauth-authorization-server"), timeout: .seconds(30))
        let metadata = try ATProtoJSON.decode(Array(buffer: try await discovery.body.collect(upTo: 1 << 20))[...], mode: .lenient)
        guard let origin = metadata["issuer"]?.stringValue else { throw BenchOAuthError("no issuer in the server's OAuth metadata") }
        let key = SigningKey()
        let verifier = Base64URL.encode((0..<48).map { _ in UInt8.random(in: 0...255) })
        var nonce: String? = nil
        func form(_ path: String, _ fields: [(String, String)], dpop: Bool = true, cookie: String? = nil) async throws -> HTTPClientResponse {
            for _ in 0..<2 {
                var request = HTTPClientRequest(url: address + path)
                request.method = .POST
                request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
                request.headers.add(name: "Origin", value: origin)
                if let cookie { request.headers.add(name: "Cookie", value: cookie) }
                if dpop { request.headers.add(name: "DPoP", value: proof(key: key, htm: "POST", htu: origin + path, nonce: nonce)) }
                request.body = .bytes(ByteBuffer(string: fields.map { "\($0.0)=\(encode($0.1))" }.joined(separator: "&")))
                let response = try await http.execute(request, timeout: .seconds(30))
                if let next = response.headers.first(name: "DPoP-Nonce") {
                    let retry = response.status == .badRequest && nonce != next
                    nonce = next
                    if retry && dpop { continue }
                }
                return response
            }
            throw BenchOAuthError("the server kept asking for another DPoP nonce at \(path)")
        }
        func body(_ response: HTTPClientResponse) async throws -> String { String(buffer: try await response.body.collect(upTo: 1 << 20)) }

        let challenge = Base64URL.sha256(verifier)
        let par = try await form(
            "/oauth/par",
            [("client_id", clientID), ("response_type", "code"), ("redirect_uri", redirect), ("scope", "atproto transition:generic"),
             ("state", "bench"), ("code_challenge", challenge), ("code_challenge_method", "S256")])
        let parBody = try await body(par)
        guard par.status == .created, let requestURI = parBody.firstMatch(of: /"request_uri":"([^"]+)"/)?.1 else {
            throw BenchOAuthError("PAR failed: \(par.status) \(parBody)")
        }
        let query = "client_id=\(encode(clientID))&request_uri=\(encode(String(requestURI)))"
        let page = try await http.execute(HTTPClientRequest(url: address + "/oauth/authorize?" + query), timeout: .seconds(30))
        guard let cookie = page.headers.first(name: "Set-Cookie")?.split(separator: ";").first.map(String.init) else {
            throw BenchOAuthError("the authorize page set no cookie")
        }
        let signIn = try await form(
            "/oauth/authorize/sign-in",
            hiddenFields(try await body(page)) + [("identifier", handle), ("password", password), ("remember", "1")], dpop: false,
            cookie: cookie)
        guard signIn.status == .seeOther, let location = signIn.headers.first(name: "Location") else {
            throw BenchOAuthError("sign-in failed: \(signIn.status)")
        }
        var consentRequest = HTTPClientRequest(url: address + location)
        consentRequest.headers.add(name: "Cookie", value: cookie)
        let consentPage = try await http.execute(consentRequest, timeout: .seconds(30))
        let allowed = try await form(
            "/oauth/authorize/consent", hiddenFields(try await body(consentPage)) + [("decision", "allow")], dpop: false, cookie: cookie)
        guard allowed.status == .seeOther, let back = allowed.headers.first(name: "Location"),
            let code = URLComponents(string: back)?.queryItems?.first(where: { $0.name == "code" })?.value
        else { throw BenchOAuthError("consent failed: \(allowed.status)") }
        let token = try await form(
            "/oauth/token",
            [("grant_type", "authorization_code"), ("code", code), ("redirect_uri", redirect), ("code_verifier", verifier),
             ("client_id", clientID)])
        let answer = try ATProtoJSON.decode(Array(try await body(token).utf8)[...], mode: .lenient)
        guard token.status == .ok, let access = answer["access_token"]?.stringValue, let sub = answer["sub"]?.stringValue, let nonce else {
            throw BenchOAuthError("the token request failed: \(token.status)")
        }
        return BenchOAuthClient(
            origin: origin, did: sub, accessToken: access, key: key, nonce: nonce, ath: Base64URL.sha256(access))
    }

    static func hiddenFields(_ html: String) -> [(String, String)] {
        html.matches(of: /<input type="hidden" name="([^"]+)" value="([^"]*)">/).map { match in
            (String(match.1), String(match.2).replacingOccurrences(of: "&amp;", with: "&").replacingOccurrences(of: "&quot;", with: "\"")
                .replacingOccurrences(of: "&#39;", with: "'").replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">"))
        }
    }

    static func encode(_ value: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return value.addingPercentEncoding(withAllowedCharacters: allowed) ?? value
    }
}

struct BenchOAuthError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
