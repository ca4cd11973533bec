import Crypto
import Foundation
import OAuth

/// The P-256 key an OAuth client binds its tokens to, and the DPoP proofs
/// it signs with it (RFC 9449 §4): one key per sign-in, kept with the
/// session, since a token bound to it is useless with any other.
public struct DPoPClientKey: Sendable {
    /// The private scalar (swift-crypto's key type is not `Sendable`; it
    /// is rebuilt per proof, which costs far less than the signature).
    public let rawRepresentation: [UInt8]

    /// A new random key.
    public init() { rawRepresentation = Array(P256.Signing.PrivateKey().rawRepresentation) }

    /// The key stored as `rawRepresentation`.
    public init(rawRepresentation: [UInt8]) throws {
        _ = try P256.Signing.PrivateKey(rawRepresentation: rawRepresentation)
        self.rawRepresentation = rawRepresentation
    }

    private struct Header: Encodable {
        struct JWK: Encodable {
            let kty = "EC", crv = "P-256"
            let x: String, y: String
        }
        let typ = "dpop+jwt", alg = "ES256"
        let jwk: JWK
    }

    private struct Claims: Encodable {
        let jti: String, htm: String, htu: String, iat: Int
        let nonce: String?, ath: String?
    }

    /// A proof for one request: `htu` is `url` without its query and
    /// fragment; `ath` is the hash of `accessToken` when the request
    /// carries one (resource requests).
    public func proof(method: String, url: String, nonce: String?, accessToken: String? = nil, now: Date = Date()) -> String {
        var htu = url
        if let cut = htu.firstIndex(where: { $0 == "?" || $0 == "#" }) { htu = String(htu[..<cut]) }
        // Checked valid at init.
        let key = try! P256.Signing.PrivateKey(rawRepresentation: rawRepresentation)
        let point = Array(key.publicKey.rawRepresentation)
        let header = Header(jwk: .init(x: Base64URL.encode(point.prefix(32)), y: Base64URL.encode(point.suffix(32))))
        let claims = Claims(
            jti: Base64URL.encode((0..<16).map { _ in UInt8.random(in: 0...255) }), htm: method, htu: htu,
            iat: Int(now.timeIntervalSince1970), nonce: nonce, ath: accessToken.map(Base64URL.sha256))
        let encoder = JSONEncoder()
        encoder.outputFormatting = .withoutEscapingSlashes
        // Both are plain structs of strings and integers: encoding cannot fail.
        let input = Base64URL.encode(try! encoder.encode(header)) + "." + Base64URL.encode(try! encoder.encode(claims))
        // Signing with a valid P-256 key cannot fail either.
        let signature = try! key.signature(for: Data(input.utf8)).rawRepresentation
        return input + "." + Base64URL.encode(signature)
    }
}
