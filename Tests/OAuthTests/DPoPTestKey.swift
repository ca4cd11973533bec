import Crypto
import Foundation

@testable import OAuth

/// A client's DPoP key for the tests: makes proofs as a client library would.
struct DPoPTestKey {
    let key = P256.Signing.PrivateKey()

    var jwk: [String: String] {
        let point = key.publicKey.rawRepresentation
        return ["kty": "EC", "crv": "P-256", "x": Base64URL.encode(point.prefix(32)), "y": Base64URL.encode(point.suffix(32))]
    }

    var thumbprint: String { try! ECPublicJWK(JWKObject(kty: "EC", crv: "P-256", x: jwk["x"], y: jwk["y"])).thumbprint }

    /// A compact JWS of `header` and `claims` signed with this key.
    func sign(header: [String: Any], claims: [String: Any]) -> String {
        let h = Base64URL.encode(try! JSONSerialization.data(withJSONObject: header, options: [.sortedKeys]))
        let p = Base64URL.encode(try! JSONSerialization.data(withJSONObject: claims, options: [.sortedKeys]))
        let signature = try! key.signature(for: Data((h + "." + p).utf8)).rawRepresentation
        return h + "." + p + "." + Base64URL.encode(signature)
    }

    func proof(
        htm: String = "POST", htu: String = "https://pds.example/oauth/token", iat: Date = Date(), jti: String = UUID().uuidString,
        nonce: String?, ath: String? = nil, header: [String: Any] = [:]
    ) -> String {
        var claims: [String: Any] = ["htm": htm, "htu": htu, "iat": Int(iat.timeIntervalSince1970), "jti": jti]
        if let nonce { claims["nonce"] = nonce }
        if let ath { claims["ath"] = ath }
        var fullHeader: [String: Any] = ["typ": "dpop+jwt", "alg": "ES256", "jwk": jwk]
        for (name, value) in header { fullHeader[name] = value }
        return sign(header: fullHeader, claims: claims)
    }
}
