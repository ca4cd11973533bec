import ATCrypto
import Crypto
import Foundation
import OAuth

/// The authorization server's own secrets, created on first start in the
/// data directory (`oauth-keys.json`, mode 0600): a P-256 key that signs
/// access tokens (published at `/oauth/jwks`) and the secret DPoP nonces
/// are derived from, so nonces survive a restart.
struct OAuthServerKeys: Sendable {
    let signingKey: PrivateKey
    let nonceSecret: [UInt8]
    /// The `kid` of the signing key: its JWK thumbprint.
    let keyID: String
    /// The signing key's public half as a JWK.
    let publicJWK: JWKObject

    struct Stored: Codable {
        var signingKeyP256: String
        var dpopNonceSecret: String
    }

    static let fileName = "oauth-keys.json"

    static func loadOrCreate(in directory: String) throws -> OAuthServerKeys {
        let url = URL(fileURLWithPath: directory).appendingPathComponent(fileName)
        if let data = try? Data(contentsOf: url) {
            let stored = try JSONDecoder().decode(Stored.self, from: data)
            return try OAuthServerKeys(
                signingKey: PrivateKey(type: .p256, rawRepresentation: ServiceSecrets.hexBytes(stored.signingKeyP256)),
                nonceSecret: ServiceSecrets.hexBytes(stored.dpopNonceSecret))
        }
        let secret = OAuthServices.randomBytes(32)
        let keys = try OAuthServerKeys(signingKey: .generate(.p256), nonceSecret: secret)
        let stored = Stored(
            signingKeyP256: ServiceSecrets.hex(keys.signingKey.rawRepresentation), dpopNonceSecret: ServiceSecrets.hex(secret))
        guard
            FileManager.default.createFile(
                atPath: url.path, contents: try JSONEncoder().encode(stored), attributes: [.posixPermissions: 0o600])
        else { throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: url.path]) }
        return keys
    }

    init(signingKey: PrivateKey, nonceSecret: [UInt8]) throws {
        self.signingKey = signingKey
        self.nonceSecret = nonceSecret
        let point = try P256.Signing.PrivateKey(rawRepresentation: signingKey.rawRepresentation).publicKey.rawRepresentation
        let x = Base64URL.encode(point.prefix(32))
        let y = Base64URL.encode(point.suffix(32))
        var jwk = JWKObject(kty: "EC", crv: "P-256", x: x, y: y, alg: "ES256", use: "sig")
        let kid = try ECPublicJWK(jwk).thumbprint
        jwk.kid = kid
        self.keyID = kid
        self.publicJWK = jwk
    }
}
