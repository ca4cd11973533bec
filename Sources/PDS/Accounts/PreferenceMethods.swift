import ATProto
import Foundation
import ServiceStorage

/// `app.bsky.actor.getPreferences`/`putPreferences`, stored here (not at
/// the AppView) in `account_pref` as a JSON array (``PreferenceStore``). As in the reference PDS,
/// personal details (`app.bsky.actor.defs#personalDetailsPref`, the birth
/// date) are neither shown to nor changed by app-password sessions: they
/// keep what is stored.
enum PreferenceMethods {
    static func register(_ methods: inout XRPCMethods) {
        methods.query("app.bsky.actor.getPreferences", getPreferences)
        methods.procedure("app.bsky.actor.putPreferences", putPreferences)
    }

    static let fullAccessOnly: Set<String> = ["app.bsky.actor.defs#personalDetailsPref"]

    static func getPreferences(_ call: XRPCCall) async throws -> XRPCResult {
        let user = try await call.authenticate()
        let full = !user.isAppPassword
        let preferences = try await call.services.storage.read { tx in try PreferenceStore.preferences(did: user.did, in: tx) }
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
        try await call.services.storage.write { tx in
            var kept = preferences
            if !full {
                kept += try PreferenceStore.preferences(did: user.did, in: tx).filter { fullAccessOnly.contains($0["$type"]?.stringValue ?? "") }
            }
            try PreferenceStore.setPreferences(kept, did: user.did, in: tx)
        }
        return .empty
    }
}
