import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import OAuth

/// The browser on the authorize pages, known by a cookie (`pds-device`,
/// 32 random bytes, HttpOnly, SameSite=Lax, Secure over https): the store
/// keeps only its SHA-256. Forms carry a token derived from it (an HMAC
/// with the server's secret), so a page of another site cannot post them.
struct OAuthDevice {
    static let cookieName = "pds-device"
    /// The stored identifier: the cookie's hash.
    let id: String
    /// The `Set-Cookie` to send when the browser had no cookie yet.
    let setCookie: String?

    /// The browser's device, or a new one.
    init(_ request: Request, secure: Bool) {
        if let value = Self.cookie(request), value.utf8.count == 43 {
            id = OAuthServices.hash(value)
            setCookie = nil
        } else {
            let value = OAuthServices.randomToken()
            id = OAuthServices.hash(value)
            setCookie =
                "\(Self.cookieName)=\(value); Path=/oauth; Max-Age=31536000; HttpOnly; SameSite=Lax" + (secure ? "; Secure" : "")
        }
    }

    /// The device of a form post, which must already have a cookie.
    static func existing(_ request: Request) -> String? {
        guard let value = cookie(request), value.utf8.count == 43 else { return nil }
        return OAuthServices.hash(value)
    }

    private static func cookie(_ request: Request) -> String? {
        for header in request.headers[values: .cookie] {
            for part in header.split(separator: ";") {
                let pair = part.trimmingCharacters(in: .whitespaces)
                if pair.hasPrefix(cookieName + "=") { return String(pair.dropFirst(cookieName.count + 1)) }
            }
        }
        return nil
    }

    /// Headers that set the cookie when it is new.
    var headers: HTTPFields {
        guard let setCookie else { return [:] }
        return [.setCookie: setCookie]
    }

    /// The form token of `purpose` (a request ID, or `apps`) on device `id`.
    static func csrfToken(deviceID: String, purpose: String, secret: [UInt8]) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Array("csrf|\(deviceID)|\(purpose)".utf8), using: SymmetricKey(data: secret))
        return Base64URL.encode(Array(mac))
    }

    /// Whether `token` is the form token of `purpose` on device `id`
    /// (compared in constant time).
    static func checkCSRF(_ token: String?, deviceID: String, purpose: String, secret: [UInt8]) -> Bool {
        let expected = Array(csrfToken(deviceID: deviceID, purpose: purpose, secret: secret).utf8)
        let given = Array((token ?? "").utf8)
        guard given.count == expected.count else { return false }
        return zip(given, expected).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
    }
}
