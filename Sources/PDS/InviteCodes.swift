import Foundation
import GRDB

/// Invite codes: creation by admins and consumption at account creation.
enum InviteCodes {
    /// Uses one of `code`'s remaining uses for `did`, inside the account
    /// creation transaction.
    static func use(_ code: String, by did: String, db: Database) throws {
        guard
            let row = try Row.fetchOne(
                db, sql: "SELECT available_uses, disabled FROM invite_code WHERE code = ?", arguments: [code])
        else { throw XRPCError(.badRequest, "InvalidInviteCode", "Provided invite code not available") }
        let available: Int = row["available_uses"]
        let disabled: Bool = row["disabled"]
        let used = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM invite_code_use WHERE code = ?", arguments: [code]) ?? 0
        guard !disabled, used < available else {
            throw XRPCError(.badRequest, "InvalidInviteCode", "Provided invite code not available")
        }
        try db.execute(
            sql: "INSERT INTO invite_code_use (code, used_by, used_at) VALUES (?, ?, ?)",
            arguments: [code, did, AccountStore.now()])
    }

    /// Creates `count` codes with `uses` uses each.
    static func create(count: Int, uses: Int, forAccount: String, createdBy: String, db: Database) throws -> [String] {
        var codes: [String] = []
        for _ in 0..<count {
            let code = newCode()
            try db.execute(
                sql: """
                    INSERT INTO invite_code (code, available_uses, for_account, created_by, created_at)
                    VALUES (?, ?, ?, ?, ?)
                    """,
                arguments: [code, uses, forAccount, createdBy, AccountStore.now()])
            codes.append(code)
        }
        return codes
    }

    /// A code like the reference PDS's: `<host>-xxxxx-xxxxx`.
    static func newCode() -> String {
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz234567")
        var rng = SystemRandomNumberGenerator()
        func part() -> String { String((0..<5).map { _ in alphabet[Int(rng.next() % 32)] }) }
        return "invite-\(part())-\(part())"
    }
}
