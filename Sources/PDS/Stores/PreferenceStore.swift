import ATProto
import Foundation
import GRDB
import ServiceStorage

/// The `account_pref` table: each account's `app.bsky.actor` preferences,
/// stored here (not at the AppView) as one JSON array.
enum PreferenceStore {
    /// The stored preferences of `did` (none when never set or unreadable).
    static func preferences(did: DID, in tx: some StoreReading) throws -> [DataValue] {
        guard let json = try String.fetchOne(tx.db, sql: "SELECT prefs_json FROM account_pref WHERE did = ?", arguments: [did]),
            let value = try? ATProtoJSON.decode(json, mode: .lenient)
        else { return [] }
        return value.arrayValue ?? value["preferences"]?.arrayValue ?? []
    }

    /// The number of stored preferences (the account's private state, as
    /// `checkAccountStatus` reports it).
    static func count(did: DID, in tx: some StoreReading) throws -> Int {
        guard let json = try String.fetchOne(tx.db, sql: "SELECT prefs_json FROM account_pref WHERE did = ?", arguments: [did]),
            let value = try? JSONSerialization.jsonObject(with: Data(json.utf8))
        else { return 0 }
        if let array = value as? [Any] { return array.count }
        if let object = value as? [String: Any], let array = object["preferences"] as? [Any] { return array.count }
        return 0
    }

    /// Replaces the preferences of `did`.
    static func setPreferences(_ preferences: [DataValue], did: DID, in tx: WriteTransaction) throws {
        try tx.db.execute(
            sql: "INSERT INTO account_pref (did, prefs_json) VALUES (?, ?) ON CONFLICT (did) DO UPDATE SET prefs_json = excluded.prefs_json",
            arguments: [did, ATProtoJSON.encodeString(.array(preferences))])
    }

    /// Removes the preferences of an account that is deleted.
    static func delete(did: DID, in tx: WriteTransaction) throws {
        try tx.db.execute(sql: "DELETE FROM account_pref WHERE did = ?", arguments: [did])
    }
}
