import ATCrypto
import ATProto
import Crypto

/// The signed genesis operation of a did:plc identity, and the DID it
/// yields: `did:plc:` + the first 24 characters of base32(SHA-256(DAG-CBOR
/// of the signed operation)).
public struct PLCGenesis: Sendable {
    public let did: DID
    /// The signed operation, as the PLC directory expects it.
    public let operation: DataValue

    /// Builds and signs the genesis operation of a new account.
    /// - Parameters:
    ///   - signingKey: the account's repository key (`verificationMethods.atproto`).
    ///   - rotationKey: the server's rotation key, which signs the operation.
    /// - Parameter recoveryKey: the user's own rotation key (a `did:key`),
    ///   listed first so that it outranks the server's: with it the user can
    ///   take the identity back without this server.
    public static func create(
        handle: Handle, signingKey: PublicKey, rotationKey: PrivateKey, recoveryKey: PublicKey? = nil, pdsEndpoint: String
    ) throws -> PLCGenesis {
        let serverKey = rotationKey.publicKey.didKey
        // A recovery key that is the server's own is listed once.
        let userKey = recoveryKey.map(\.didKey).flatMap { $0 == serverKey ? nil : $0 }
        let rotationKeys = ([userKey].compactMap { $0 } + [serverKey]).map { DataValue.string($0) }
        let unsigned: DataValue = [
            "type": "plc_operation",
            "rotationKeys": .array(rotationKeys),
            "verificationMethods": ["atproto": .string(signingKey.didKey)],
            "alsoKnownAs": DIDDocument.alsoKnownAs(handle),
            "services": ["atproto_pds": ["type": "AtprotoPersonalDataServer", "endpoint": .string(pdsEndpoint)]],
            "prev": .null,
        ]
        let signature = try rotationKey.sign(DAGCBOR.encode(unsigned))
        guard case .map(var signed) = unsigned else { preconditionFailure("a map literal is a map") }
        signed["sig"] = .string(Base64.encode(signature, alphabet: .url))
        let operation = DataValue.map(signed)
        let digest = Array(SHA256.hash(data: DAGCBOR.encode(operation)))
        return PLCGenesis(did: DID(unchecked: "did:plc:" + String(Base32.encode(digest).prefix(24))), operation: operation)
    }
}
