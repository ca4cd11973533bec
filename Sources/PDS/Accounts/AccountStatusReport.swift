import ATCrypto
import ATProto
import Crypto
import Foundation
import Repo
import ServiceStorage

/// What `com.atproto.server.checkAccountStatus` reports: whether the account
/// is active, whether its identity points here, and how much of its
/// repository (and blobs) this server holds — the numbers a user checks
/// after migrating an account in.
struct AccountStatusReport: Sendable {
    var activated: Bool
    var validDid: Bool
    var repoCommit: String
    var repoRev: String
    var repoBlocks: Int
    var indexedRecords: Int
    var privateStateValues: Int
    var expectedBlobs: Int
    var importedBlobs: Int

    var json: DataValue {
        [
            "activated": .bool(activated), "validDid": .bool(validDid), "repoCommit": .string(repoCommit),
            "repoRev": .string(repoRev), "repoBlocks": .int(Int64(repoBlocks)), "indexedRecords": .int(Int64(indexedRecords)),
            "privateStateValues": .int(Int64(privateStateValues)), "expectedBlobs": .int(Int64(expectedBlobs)),
            "importedBlobs": .int(Int64(importedBlobs)),
        ]
    }

    /// Computes the report for an account from the database.
    static func compute(for account: Account, services: PDSServices) async throws -> AccountStatusReport {
        let did = account.did
        let endpoint = services.config.resolvedPublicURL
        // The DID document as the network sees it, when it can be resolved.
        let resolved = try? await services.identity.dids.resolve(did, forceRefresh: true)
        let documentPointsHere = resolved.map { $0.pdsEndpoint == endpoint && $0.signingKey == account.signingKey.publicKey }
        return try await services.storage.read { tx in
            guard let root = try RepoStorage.currentCommit(did: did, in: tx) else {
                throw XRPCError.invalidRequest("No repository root for \(did)")
            }
            let counts = try RepoStorage.counts(did: did, in: tx)
            let genesis = try AccountStore.plcGenesis(did: did, in: tx)
            let blobs = try BlobTracking.counts(did: did, in: tx)
            return AccountStatusReport(
                activated: account.status == .active,
                validDid: documentPointsHere
                    ?? genesis.map { didPointsHere($0, account: account, endpoint: endpoint) } ?? false,
                repoCommit: root.cid.string, repoRev: root.rev, repoBlocks: counts.blocks,
                indexedRecords: counts.records, privateStateValues: try PreferenceStore.count(did: did, in: tx),
                expectedBlobs: blobs.expected, importedBlobs: blobs.imported)
        }
    }

    /// Without a resolvable DID document (no PLC directory configured):
    /// whether the account's did:plc identity, as this server created it,
    /// names this server and the account's current signing key: the DID is
    /// the hash of the stored genesis operation, whose `atproto` key and
    /// `atproto_pds` endpoint match. Accounts without a stored genesis
    /// operation (migrated in, did:web) report false.
    static func didPointsHere(_ genesis: [UInt8], account: Account, endpoint: String) -> Bool {
        guard let operation = try? DAGCBOR.decode(genesis) else { return false }
        let digest = Array(SHA256.hash(data: genesis))
        return account.did.string == "did:plc:" + String(Base32.encode(digest).prefix(24))
            && operation["verificationMethods"]?["atproto"]?.stringValue == account.signingKey.publicKey.didKey
            && operation["services"]?["atproto_pds"]?["endpoint"]?.stringValue == endpoint
    }

}
