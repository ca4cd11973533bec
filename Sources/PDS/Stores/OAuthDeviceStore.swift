import ATProto
import GRDB
import ServiceStorage

/// The accounts signed in on each browser that used the authorize pages
/// (`oauth_device_account`), so a second app on the device offers them
/// instead of asking for a password again.
public struct OAuthDeviceStore: Sendable {
    let pool: DatabasePool

    /// Remembers that `did` signed in on `deviceID` until `expiresAt`.
    public func signIn(deviceID: String, did: DID, now: Int, expiresAt: Int) async throws {
        try await pool.write { db in
            try db.execute(
                sql: """
                    INSERT INTO oauth_device_account (device_id, did, signed_in_at, expires_at) VALUES (?, ?, ?, ?)
                    ON CONFLICT (device_id, did) DO UPDATE SET signed_in_at = excluded.signed_in_at, expires_at = excluded.expires_at
                    """,
                arguments: [deviceID, did, now, expiresAt])
            try db.execute(sql: "DELETE FROM oauth_device_account WHERE expires_at <= ?", arguments: [now])
        }
    }

    /// The accounts signed in on a device, most recent first (active ones only).
    public func accounts(deviceID: String, now: Int) async throws -> [Account] {
        try await pool.read { db in
            let dids = try DID.fetchAll(
                db, sql: "SELECT did FROM oauth_device_account WHERE device_id = ? AND expires_at > ? ORDER BY signed_in_at DESC",
                arguments: [deviceID, now])
            return try dids.compactMap { try AccountStore.account(did: $0, in: ReadTransaction(db)) }.filter { $0.status == .active }
        }
    }

    /// Signs `did` out of a device.
    public func signOut(deviceID: String, did: DID) async throws {
        try await pool.write { db in
            try db.execute(sql: "DELETE FROM oauth_device_account WHERE device_id = ? AND did = ?", arguments: [deviceID, did])
        }
    }
}
