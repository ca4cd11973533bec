import ATCrypto
import ATProto
import Foundation
import GRDB
import ServiceStorage

/// The `reserved_signing_key` table: keys handed out by
/// `com.atproto.server.reserveSigningKey`, taken by the migrating account's
/// `createAccount`.
enum ReservedSigningKeys {
    /// How long a reservation is kept.
    static let lifetime = 7 * 86_400

    /// The key reserved for `did`, made now if there is none; with no DID,
    /// a new key reserved under its own did:key.
    static func reserve(for did: DID?, type: KeyType, now: Int, in tx: WriteTransaction) throws -> PrivateKey {
        try tx.db.execute(sql: "DELETE FROM reserved_signing_key WHERE created_at < ?", arguments: [now - lifetime])
        if let did, let existing = try key(subject: did.string, in: tx) { return existing }
        let key = PrivateKey.generate(type)
        try tx.db.execute(
            sql: "INSERT INTO reserved_signing_key (subject, key_type, private_key, created_at) VALUES (?, ?, ?, ?)",
            arguments: [did?.string ?? key.publicKey.didKey, type.rawValue, Data(key.rawRepresentation), now])
        return key
    }

    /// The key reserved for `did`, if any.
    static func key(for did: DID, in tx: some StoreReading) throws -> PrivateKey? {
        try key(subject: did.string, in: tx)
    }

    /// Removes the reservation of `did` (its account was created).
    static func release(_ did: DID, in tx: WriteTransaction) throws {
        try tx.db.execute(sql: "DELETE FROM reserved_signing_key WHERE subject = ?", arguments: [did.string])
    }

    private static func key(subject: String, in tx: some StoreReading) throws -> PrivateKey? {
        guard let row = try Row.fetchOne(tx.db, sql: "SELECT key_type, private_key FROM reserved_signing_key WHERE subject = ?", arguments: [subject])
        else { return nil }
        let type: String = row["key_type"]
        let raw: Data = row["private_key"]
        return try PrivateKey(type: KeyType(rawValue: type) ?? .secp256k1, rawRepresentation: [UInt8](raw))
    }
}
