import ATCrypto
import ATProto

/// A repository commit (version 3): `{did, version, data, rev, prev, sig}`.
///
/// `data` is the MST root, `rev` a TID that grows with every commit, `prev`
/// is kept as an explicit null, and `sig` signs the DAG-CBOR bytes of the
/// commit without `sig`.
public struct SignedCommit: Sendable, Equatable {
    public let did: DID
    public let version: Int64
    public let data: CID
    public let rev: String
    public let prev: CID?
    public let sig: [UInt8]

    /// Signs a new version-3 commit with the account's key.
    public static func sign(did: DID, data: CID, rev: String, key: PrivateKey) throws -> SignedCommit {
        let unsigned = unsignedValue(did: did, version: 3, data: data, rev: rev, prev: nil)
        let sig = try key.sign(DAGCBOR.encode(unsigned))
        return SignedCommit(did: did, version: 3, data: data, rev: rev, prev: nil, sig: sig)
    }

    init(did: DID, version: Int64, data: CID, rev: String, prev: CID?, sig: [UInt8]) {
        self.did = did
        self.version = version
        self.data = data
        self.rev = rev
        self.prev = prev
        self.sig = sig
    }

    /// Reads a commit block, checking its shape.
    public init(bytes: [UInt8]) throws {
        let value: DataValue
        do {
            value = try DAGCBOR.decode(bytes)
        } catch {
            throw RepoError.malformedCommit("\(error)")
        }
        guard let map = value.mapValue else { throw RepoError.malformedCommit("not a map") }
        guard case .string(let didString)? = map["did"], let did = try? DID(didString) else {
            throw RepoError.malformedCommit("did is missing or not a DID")
        }
        guard case .int(let version)? = map["version"] else { throw RepoError.malformedCommit("no integer version") }
        guard version == 3 || version == 2 else { throw RepoError.unsupportedCommitVersion(version) }
        guard case .link(let data)? = map["data"] else { throw RepoError.malformedCommit("data is not a link") }
        guard case .string(let rev)? = map["rev"], TID.isValid(rev) else {
            throw RepoError.malformedCommit("rev is missing or not a TID")
        }
        guard case .bytes(let sig)? = map["sig"] else { throw RepoError.malformedCommit("sig is not bytes") }
        let prev: CID?
        switch map["prev"] {
        case nil, .null?: prev = nil
        case .link(let c)?: prev = c
        default: throw RepoError.malformedCommit("prev is neither a link nor null")
        }
        let known: Set<String> = ["did", "version", "data", "rev", "prev", "sig"]
        if let extra = map.keys.first(where: { !known.contains($0) }) {
            throw RepoError.malformedCommit("unexpected field '\(extra)'")
        }
        self.init(did: did, version: version, data: data, rev: rev, prev: prev, sig: sig)
    }

    static func unsignedValue(did: DID, version: Int64, data: CID, rev: String, prev: CID?) -> DataValue {
        ["did": .string(did.string), "version": .int(version), "data": .link(data), "rev": .string(rev),
         "prev": prev.map { .link($0) } ?? .null]
    }

    /// The bytes that `sig` signs.
    public var unsignedBytes: [UInt8] {
        DAGCBOR.encode(SignedCommit.unsignedValue(did: did, version: version, data: data, rev: rev, prev: prev))
    }

    /// The commit block.
    public var bytes: [UInt8] {
        guard case .map(var map) = SignedCommit.unsignedValue(did: did, version: version, data: data, rev: rev, prev: prev)
        else { return [] }
        map["sig"] = .bytes(sig)
        return DAGCBOR.encode(.map(map))
    }

    /// The commit block's CID.
    public var cid: CID { CID.compute(bytes) }

    /// Whether `sig` is a valid signature by `key`.
    public func verify(with key: PublicKey) -> Bool {
        key.verify(signature: sig, message: unsignedBytes)
    }
}
