import ATProto

/// `did:key`, Multikey and legacy `publicKeyMultibase` forms of a public key.
///
/// A Multikey is `z` + base58btc(varint(multicodec) ‖ compressed key); a
/// `did:key` is `did:key:` followed by the Multikey. Older atproto DID
/// documents used verification methods of type
/// `EcdsaSecp256k1VerificationKey2019` / `EcdsaSecp256r1VerificationKey2019`,
/// whose `publicKeyMultibase` is base58btc of the bare key with no multicodec.
extension PublicKey {
    /// The prefix of every `did:key` identifier.
    public static let didKeyPrefix = "did:key:"

    /// The Multikey `publicKeyMultibase` value: `z` + base58btc of the
    /// multicodec varint and the compressed key.
    public var multikey: String {
        Multibase.encode(Varint.encode(type.multicodec) + compressedBytes, base: .base58btc)
    }

    /// The `did:key:z…` identifier of the key.
    public var didKey: String { PublicKey.didKeyPrefix + multikey }

    /// Parses a `did:key:z…` identifier.
    /// - Throws: `PublicKeyError.notDidKey` without the `did:key:` prefix, and
    ///   the errors of `init(multikey:)` for the rest.
    public init(didKey: String) throws(PublicKeyError) {
        guard didKey.hasPrefix(PublicKey.didKeyPrefix) else { throw .notDidKey(didKey) }
        try self.init(multikey: String(didKey.dropFirst(PublicKey.didKeyPrefix.count)))
    }

    /// Parses a Multikey `publicKeyMultibase` value (`z…`, with multicodec).
    /// - Throws: `notBase58btc`, `invalidBase58`, `invalidMulticodec`,
    ///   `unsupportedMulticodec`, `invalidKeyLength` or `invalidPoint`.
    public init(multikey: String) throws(PublicKeyError) {
        let bytes = try PublicKey.decodeBase58btc(multikey)
        let code: UInt64
        let prefixLength: Int
        do {
            (code, prefixLength) = try Varint.decode(bytes)
        } catch {
            throw .invalidMulticodec
        }
        guard let type = KeyType(multicodec: code) else { throw .unsupportedMulticodec(code) }
        try self.init(type: type, bytes: Array(bytes[prefixLength...]))
    }

    /// Parses a legacy `publicKeyMultibase` (base58btc of the bare key, no
    /// multicodec), whose key type comes from the verification method type.
    public init(legacyMultibase: String, type: KeyType) throws(PublicKeyError) {
        try self.init(type: type, bytes: PublicKey.decodeBase58btc(legacyMultibase))
    }

    /// Reads the key of a DID-document verification method from its `type`
    /// and `publicKeyMultibase`: `Multikey`, or one of the legacy
    /// `EcdsaSecp256k1VerificationKey2019` / `EcdsaSecp256r1VerificationKey2019`.
    /// - Throws: `PublicKeyError.unsupportedVerificationMethod` for other types.
    public init(verificationMethodType: String, publicKeyMultibase: String) throws(PublicKeyError) {
        if verificationMethodType == "Multikey" {
            try self.init(multikey: publicKeyMultibase)
        } else if let type = KeyType.allCases.first(where: { $0.legacyVerificationMethodType == verificationMethodType }) {
            try self.init(legacyMultibase: publicKeyMultibase, type: type)
        } else {
            throw .unsupportedVerificationMethod(verificationMethodType)
        }
    }

    private static func decodeBase58btc(_ string: String) throws(PublicKeyError) -> [UInt8] {
        guard string.first == "z" else { throw .notBase58btc(string) }
        guard let bytes = Base58.decode(string.dropFirst()) else { throw .invalidBase58(string) }
        return bytes
    }
}
