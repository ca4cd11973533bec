import ATCrypto
import ATProto
import Crypto
import Foundation
import GRDB

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
        return try await services.pool.read { db in
            guard let root = try Row.fetchOne(db, sql: "SELECT cid, rev FROM repo_root WHERE did = ?", arguments: [did]) else {
                throw XRPCError.invalidRequest("No repository root for \(did)")
            }
            let cid: Data = root["cid"]
            let blocks = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM blockstore WHERE did = ?", arguments: [did]) ?? 0
            let records = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM record WHERE did = ?", arguments: [did]) ?? 0
            let genesis = try Data.fetchOne(db, sql: "SELECT plc_genesis FROM account WHERE did = ?", arguments: [did])
            let blobs = try blobCounts(did: did, db: db)
            return AccountStatusReport(
                activated: account.status == .active,
                validDid: documentPointsHere
                    ?? genesis.map { didPointsHere([UInt8]($0), account: account, endpoint: endpoint) } ?? false,
                repoCommit: try CID(bytes: [UInt8](cid)).string, repoRev: root["rev"], repoBlocks: blocks,
                indexedRecords: records, privateStateValues: try preferenceCount(did: did, db: db),
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
        return account.did == "did:plc:" + String(Base32.encode(digest).prefix(24))
            && operation["verificationMethods"]?["atproto"]?.stringValue == account.signingKey.publicKey.didKey
            && operation["services"]?["atproto_pds"]?["endpoint"]?.stringValue == endpoint
    }

    /// The number of stored preferences (the account's private state).
    static func preferenceCount(did: String, db: Database) throws -> Int {
        guard let json = try String.fetchOne(db, sql: "SELECT prefs_json FROM account_pref WHERE did = ?", arguments: [did]),
            let value = try? JSONSerialization.jsonObject(with: Data(json.utf8))
        else { return 0 }
        if let array = value as? [Any] { return array.count }
        if let object = value as? [String: Any], let array = object["preferences"] as? [Any] { return array.count }
        return 0
    }

    /// Blobs the records reference (`expected`) and, of those, the ones
    /// stored (`imported`).
    static func blobCounts(did: String, db: Database) throws -> (expected: Int, imported: Int) {
        let expected = try Int.fetchOne(
            db, sql: "SELECT COUNT(DISTINCT blob_cid) FROM blob_usage WHERE did = ?", arguments: [did]) ?? 0
        let imported = try Int.fetchOne(
            db,
            sql: """
                SELECT COUNT(DISTINCT u.blob_cid) FROM blob_usage u
                JOIN blob_ref b ON b.did = u.did AND b.cid = u.blob_cid WHERE u.did = ?
                """,
            arguments: [did]) ?? 0
        return (expected, imported)
    }
}
