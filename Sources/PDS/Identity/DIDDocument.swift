import ATCrypto
import ATProto

/// The DID document of an account hosted here: its handle, its repository
/// signing key (Multikey `#atproto`) and this server as `#atproto_pds`.
enum DIDDocument {
    /// The `alsoKnownAs` of a DID document or PLC operation naming an
    /// account's handle (checked when it was set): `["at://<handle>"]`.
    static func alsoKnownAs(_ handle: Handle) -> DataValue {
        [.string(ATURI(authority: .handle(handle)).string)]
    }

    static func of(did: DID, handle: Handle, signingKey: PublicKey, pdsEndpoint: String) -> DataValue {
        [
            "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1", "https://w3id.org/security/suites/secp256k1-2019/v1"],
            "id": .string(did.string),
            "alsoKnownAs": alsoKnownAs(handle),
            "verificationMethod": [
                [
                    "id": .string(did.string + "#atproto"), "type": "Multikey", "controller": .string(did.string),
                    "publicKeyMultibase": .string(signingKey.multikey),
                ]
            ],
            "service": [["id": "#atproto_pds", "type": "AtprotoPersonalDataServer", "serviceEndpoint": .string(pdsEndpoint)]],
        ]
    }

    static func of(_ account: Account, services: PDSServices) -> DataValue {
        of(did: account.did, handle: account.handle, signingKey: account.signingKey.publicKey,
           pdsEndpoint: services.config.resolvedPublicURL)
    }
}
