import ATProto
import Foundation
import GRDB
import ServiceStorage

/// Invite codes: creation by admins and consumption at account creation.
enum InviteCodes {
    /// Uses one of `code`'s remaining uses for `did`, inside the account
    /// creation transaction.
    static func use(_ code: String, by did: DID, in tx: WriteTransaction) throws {
        let db = tx.db
        guard
            let row = try Row.fetchOne(
                db, sql: "SELECT available_uses, disabled FROM invite_code WHERE code = ?", arguments: [code])
        else { throw XRPCError(.badRequest, "InvalidInviteCode", "Provided invite code not available") }
        let available: Int = row["available_uses"]
        let disabled: Bool = row["disabled"]
        let used = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM invite_code_use WHERE code = ?", arguments: [code]) ?? 0
        // A code of an account whose invites the operator disabled.
        let ownerDisabled = try Bool.fetchOne(
            db, sql: "SELECT invites_disabled FROM account WHERE did = (SELECT for_account FROM invite_code WHERE code = ?)",
            arguments: [code]) ?? false
        guard !disabled, !ownerDisabled, used < available else {
            throw XRPCError(.badRequest, "InvalidInviteCode", "Provided invite code not available")
        }
        try db.execute(
            sql: "INSERT INTO invite_code_use (code, used_by, used_at) VALUES (?, ?, ?)",
            arguments: [code, did, AccountStore.now()])
    }

    /// Creates `count` codes with `uses` uses each.
    static func create(count: Int, uses: Int, forAccount: String, createdBy: String, in tx: WriteTransaction) throws -> [String] {
        let db = tx.db
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

    /// Disables the codes named and those made for `forAccounts`.
    /// - Returns: how many were enabled before.
    static func disable(codes: [String], forAccounts: [String], in tx: WriteTransaction) throws -> Int {
        var changed = 0
        for code in codes {
            try tx.db.execute(sql: "UPDATE invite_code SET disabled = 1 WHERE code = ? AND disabled = 0", arguments: [code])
            changed += tx.db.changesCount
        }
        for account in forAccounts {
            try tx.db.execute(sql: "UPDATE invite_code SET disabled = 1 WHERE for_account = ? AND disabled = 0", arguments: [account])
            changed += tx.db.changesCount
        }
        return changed
    }

    /// How `com.atproto.admin.getInviteCodes` orders codes.
    enum Order: String {
        /// Newest first (by creation time, then code).
        case recent
        /// Most used first (by uses, then code).
        case usage
    }

    /// One page of every code, after `cursor` (`<createdAt>::<code>` or
    /// `<uses>::<code>`, as the previous page's answer gave it).
    /// - Throws: `InvalidRequest` for a cursor of another form.
    static func page(order: Order, limit: Int, cursor: String?, in tx: some StoreReading) throws -> (codes: [DataValue], cursor: String?) {
        let key = order == .recent ? "c.created_at" : "(SELECT COUNT(*) FROM invite_code_use u WHERE u.code = c.code)"
        var sql = "SELECT c.*, \(key) AS sort_key FROM invite_code c"
        var arguments: StatementArguments = []
        if let cursor {
            let parts = cursor.components(separatedBy: "::")
            guard parts.count == 2, !parts[1].isEmpty, order == .recent || Int(parts[0]) != nil else {
                throw XRPCError.invalidRequest("Malformed cursor")
            }
            sql += " WHERE (\(key), c.code) < (?, ?)"
            arguments = order == .recent ? [parts[0], parts[1]] : [Int(parts[0])!, parts[1]]
        }
        sql += " ORDER BY sort_key DESC, c.code DESC LIMIT ?"
        arguments += [limit]
        let rows = try Row.fetchAll(tx.db, sql: sql, arguments: arguments)
        let views = try rows.map { try view(row: $0, in: tx) }
        let next = rows.count == limit ? rows.last.map { row -> String in
            let key = order == .recent ? (row["created_at"] as String) : String(row["sort_key"] as Int)
            return "\(key)::\(row["code"] as String)"
        } : nil
        return (views, next)
    }

    // MARK: - Views

    /// `com.atproto.server.defs#inviteCode` of one code, with its uses.
    static func view(code: String, in tx: some StoreReading) throws -> DataValue? {
        let db = tx.db
        guard let row = try Row.fetchOne(db, sql: "SELECT * FROM invite_code WHERE code = ?", arguments: [code]) else { return nil }
        return try view(row: row, in: tx)
    }

    static func view(row: Row, in tx: some StoreReading) throws -> DataValue {
        let db = tx.db
        let code: String = row["code"]
        let uses = try Row.fetchAll(
            db, sql: "SELECT used_by, used_at FROM invite_code_use WHERE code = ? ORDER BY used_at, used_by", arguments: [code]
        ).map { use -> DataValue in ["usedBy": .string(use["used_by"]), "usedAt": .string(use["used_at"])] }
        return [
            "code": .string(code), "available": .int(row["available_uses"]), "disabled": .bool(row["disabled"]),
            "forAccount": .string(row["for_account"]), "createdBy": .string(row["created_by"]),
            "createdAt": .string(row["created_at"]), "uses": .array(uses),
        ]
    }

    /// The codes made for an account, newest first; with `includeUsed`
    /// false only those with uses left (and not disabled).
    static func views(forAccount did: DID, includeUsed: Bool, in tx: some StoreReading) throws -> [DataValue] {
        let db = tx.db
        let rows = try Row.fetchAll(
            db, sql: "SELECT * FROM invite_code WHERE for_account = ? ORDER BY created_at DESC, code", arguments: [did])
        var views: [DataValue] = []
        for row in rows {
            let view = try view(row: row, in: tx)
            let used = view["uses"]?.arrayValue?.count ?? 0
            let available: Int = row["available_uses"]
            let disabled: Bool = row["disabled"]
            if includeUsed || (!disabled && used < available) { views.append(view) }
        }
        return views
    }

    /// The code an account was created with, if any.
    static func usedBy(_ did: DID, in tx: some StoreReading) throws -> String? {
        try String.fetchOne(tx.db, sql: "SELECT code FROM invite_code_use WHERE used_by = ? LIMIT 1", arguments: [did])
    }
}

extension AccountAdmin {
    /// Most codes one request may create, and most uses one code may have.
    public static let maxInviteCodesPerRequest = 1000
    public static let maxInviteCodeUses = 1_000_000

    /// Creates `count` invite codes with `uses` uses each, for each of
    /// `forAccounts` (`"admin"` when empty), made by `createdBy`.
    /// - Returns: the codes per account, in the order given.
    public static func createInviteCodes(
        count: Int, uses: Int, forAccounts: [String], createdBy: String = "admin", services: PDSServices
    ) async throws -> [(account: String, codes: [String])] {
        guard (1...maxInviteCodesPerRequest).contains(count) else {
            throw XRPCError.invalidRequest("codeCount must be between 1 and \(maxInviteCodesPerRequest)")
        }
        guard (1...maxInviteCodeUses).contains(uses) else {
            throw XRPCError.invalidRequest("useCount must be between 1 and \(maxInviteCodeUses)")
        }
        let accounts = forAccounts.isEmpty ? ["admin"] : forAccounts
        guard accounts.count * count <= maxInviteCodesPerRequest else {
            throw XRPCError.invalidRequest("at most \(maxInviteCodesPerRequest) codes per request")
        }
        for account in accounts where account != "admin" && !DID.isValid(account) {
            throw XRPCError.invalidRequest("forAccount must be a DID: \(account)")
        }
        let made = try await services.pool.write { db in
            try accounts.map { account in
                (account: account, codes: try InviteCodes.create(count: count, uses: uses, forAccount: account, createdBy: createdBy, in: WriteTransaction(db)))
            }
        }
        services.logger.info(
            "invite codes created",
            metadata: ["count": .stringConvertible(count * accounts.count), "uses": .stringConvertible(uses)])
        return made
    }
}
