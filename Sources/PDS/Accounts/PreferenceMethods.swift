import ATProto
import Foundation
import GRDB

/// `app.bsky.actor.getPreferences`/`putPreferences`, stored here (not at
/// the AppView) in `account_pref` as a JSON array. As in the reference PDS,
/// personal details (`app.bsky.actor.defs#personalDetailsPref`, the birth
/// date) are neither shown to nor changed by app-password sessions: they
/// keep what is stored.
enum PreferenceMethods {
    static func register(_ methods: inout XRPCMethods) {
        methods.query("app.bsky.actor.getPreferences", getPreferences)
        methods.procedure("app.bsky.actor.putPreferences", putPreferences)
    }

    static let fullAccessOnly: Set<String> = ["app.bsky.actor.defs#personalDetailsPref"]

    static func stored(did: String, db: Database) throws -> [DataValue] {
        guard let json = try String.fetchOne(db, sql: "SELECT prefs_json FROM account_pref WHERE did = ?", arguments: [did]),
            let value = try? ATProtoJSON.decode(json, mode: .lenient)
        else { return [] }
        return value.arrayValue ?? value["preferences"]?.arrayValue ?? []
    }

    static func getPreferences(_ call: XRPCCall) async throws -> XRPCResult {
        let user = try await call.authenticate()
        let full = !user.isAppPassword
        let preferences = try await call.services.pool.read { db in try stored(did: user.did, db: db) }
            .filter { full || !fullAccessOnly.contains($0["$type"]?.stringValue ?? "") }
        return .json(["preferences": .array(preferences)])
    }

    static func putPreferences(_ call: XRPCCall) async throws -> XRPCResult {
        let user = try await call.authenticate()
        guard let preferences = try await call.jsonBody()["preferences"]?.arrayValue else {
            throw XRPCError.invalidRequest("Input must have the property \"preferences\" as an array")
        }
        let full = !user.isAppPassword
        for preference in preferences {
            guard let type = preference["$type"]?.stringValue else {
                throw XRPCError.invalidRequest("Preference is missing a $type")
            }
            guard type.hasPrefix("app.bsky.") else {
                throw XRPCError.invalidRequest("Some preferences are not in the app.bsky namespace")
            }
            if !full && fullAccessOnly.contains(type) {
                throw XRPCError.invalidRequest("Do not have authorization to set preferences.")
            }
        }
        try await call.services.pool.write { db in
            var kept = preferences
            if !full { kept += try stored(did: user.did, db: db).filter { fullAccessOnly.contains($0["$type"]?.stringValue ?? "") } }
            try db.execute(
                sql: "INSERT INTO account_pref (did, prefs_json) VALUES (?, ?) ON CONFLICT (did) DO UPDATE SET prefs_json = excluded.prefs_json",
                arguments: [user.did, ATProtoJSON.encodeString(.array(kept))])
        }
        return .empty
    }
}
