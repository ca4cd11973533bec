import ATCrypto
import ATProto

/// did:plc operations (https://web.plc.directory/spec/v0.1/did-plc): a
/// DAG-CBOR map signed by a rotation key over its unsigned form, chained by
/// `prev` (the CID of the previous operation).
public enum PLCOperation {
    /// The CID (dag-cbor, sha2-256) an operation is referred to by in `prev`.
    public static func cid(_ signed: DataValue) -> CID {
        CID.compute(DAGCBOR.encode(signed))
    }

    /// Signs `unsigned` (without `sig`) with `rotationKey`.
    public static func sign(_ unsigned: DataMap, with rotationKey: PrivateKey) throws -> DataValue {
        var map = unsigned
        map["sig"] = nil
        let signature = try rotationKey.sign(DAGCBOR.encode(.map(map)))
        map["sig"] = .string(Base64.encode(signature, alphabet: .url))
        return .map(map)
    }

    /// Checks that `signed` carries a valid signature by one of `rotationKeys`
    /// (`did:key` strings).
    public static func verify(_ signed: DataValue, rotationKeys: [String]) -> Bool {
        guard case .map(var map) = signed, let sig = map["sig"]?.stringValue,
            let signature = Base64.decode(sig, alphabet: .url)
        else { return false }
        map["sig"] = nil
        let message = DAGCBOR.encode(.map(map))
        return rotationKeys.contains { key in
            (try? PublicKey(didKey: key)).map { $0.verify(signature: signature, message: message) } ?? false
        }
    }

    /// The next operation after `previous`: its fields (a legacy `create`
    /// operation's are translated), changed by `change`, with `prev` set and
    /// signed by `rotationKey`.
    public static func next(after previous: DataValue, rotationKey: PrivateKey, change: (inout DataMap) -> Void) throws -> DataValue {
        guard case .map(let old) = previous else { throw XRPCError.internalError("the previous PLC operation is not a map") }
        var map: DataMap = [
            "type": "plc_operation",
            "rotationKeys": old["rotationKeys"] ?? .array([]),
            "verificationMethods": old["verificationMethods"] ?? [:],
            "alsoKnownAs": old["alsoKnownAs"] ?? .array([]),
            "services": old["services"] ?? [:],
        ]
        if old["type"]?.stringValue == "create" {
            map["rotationKeys"] = .array([old["recoveryKey"], old["signingKey"]].compactMap { $0 })
            map["verificationMethods"] = old["signingKey"].map { ["atproto": $0] } ?? [:]
            map["alsoKnownAs"] = old["handle"]?.stringValue.map { [.string("at://" + $0)] } ?? .array([])
            map["services"] = old["service"].map { ["atproto_pds": ["type": "AtprotoPersonalDataServer", "endpoint": $0]] } ?? [:]
        }
        change(&map)
        map["prev"] = .string(cid(previous).string)
        return try sign(map, with: rotationKey)
    }

    /// The unsigned fields of an operation as `getRecommendedDidCredentials`
    /// and the PLC directory's `/data` show them.
    public static func credentials(handle: Handle, signingKey: PublicKey, rotationKeys: [String], pdsEndpoint: String) -> DataMap {
        [
            "rotationKeys": .array(rotationKeys.map { .string($0) }),
            "verificationMethods": ["atproto": .string(signingKey.didKey)],
            "alsoKnownAs": DIDDocument.alsoKnownAs(handle),
            "services": ["atproto_pds": ["type": "AtprotoPersonalDataServer", "endpoint": .string(pdsEndpoint)]],
        ]
    }
}
