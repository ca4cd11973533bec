import ATCrypto
import Foundation

/// The server's own keys, created on first start in the data directory
/// (`service-keys.json`, readable by the owner only): an Ed25519 key that
/// signs session tokens, and a secp256k1 rotation key for the did:plc
/// identities the server creates.
public struct ServiceSecrets: Sendable {
    public let sessionKey: PrivateKey
    public let rotationKey: PrivateKey

    struct Stored: Codable {
        var sessionKeyEd25519: String
        var plcRotationKeySecp256k1: String
    }

    /// Loads the keys from `directory`, creating them when absent.
    public static func loadOrCreate(in directory: String) throws -> ServiceSecrets {
        let url = URL(fileURLWithPath: directory).appendingPathComponent("service-keys.json")
        if let data = try? Data(contentsOf: url) {
            let stored = try JSONDecoder().decode(Stored.self, from: data)
            return ServiceSecrets(
                sessionKey: try PrivateKey(type: .ed25519, rawRepresentation: hexBytes(stored.sessionKeyEd25519)),
                rotationKey: try PrivateKey(type: .secp256k1, rawRepresentation: hexBytes(stored.plcRotationKeySecp256k1)))
        }
        let secrets = ServiceSecrets(sessionKey: .generate(.ed25519), rotationKey: .generate(.secp256k1))
        let stored = Stored(
            sessionKeyEd25519: hex(secrets.sessionKey.rawRepresentation),
            plcRotationKeySecp256k1: hex(secrets.rotationKey.rawRepresentation))
        let data = try JSONEncoder().encode(stored)
        guard FileManager.default.createFile(atPath: url.path, contents: data, attributes: [.posixPermissions: 0o600]) else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: url.path])
        }
        return secrets
    }

    static func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

    static func hexBytes(_ string: String) throws -> [UInt8] {
        let chars = Array(string.utf8)
        guard chars.count % 2 == 0 else { throw CocoaError(.coderInvalidValue) }
        return try stride(from: 0, to: chars.count, by: 2).map { i in
            guard let b = UInt8(String(decoding: chars[i..<i + 2], as: UTF8.self), radix: 16) else {
                throw CocoaError(.coderInvalidValue)
            }
            return b
        }
    }
}
