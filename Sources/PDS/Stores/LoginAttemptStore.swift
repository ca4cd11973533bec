import ATProto
import Foundation
import GRDB
import ServiceStorage

/// Failed and successful sign-ins by subject and client address
/// (`login_failure`, `login_success`), the counts ``LoginThrottle`` decides
/// by. A subject is an account's DID, or ``unknownSubject(_:)`` of an
/// identifier no account has. Times are unix seconds.
public struct LoginAttemptStore: Sendable {
    public let pool: DatabasePool

    public init(pool: DatabasePool) {
        self.pool = pool
    }

    /// How long failures are kept: the longest window a limit counts over.
    static let failureRetention = 86_400
    /// How long a sign-in keeps its address known to the account.
    static let successRetention = 30 * 86_400

    /// The subject failures against an identifier no account has count
    /// under (lowercased, as identifiers are matched).
    public static func unknownSubject(_ identifier: String) -> String {
        "identifier:" + identifier.lowercased()
    }

    /// The failure counts one sign-in attempt is judged by.
    public struct Counts: Sendable, Equatable {
        /// Failures for this subject from this address in the pair window.
        public var pair = 0
        /// Failures from this address, any subject, in the address window.
        public var address = 0
        /// Failures for this subject from any address in the subject window.
        public var subject = 0
        /// The latest of those subject-wide failures.
        public var lastSubjectFailure: Int?
        /// Whether this address signed in to this account in the known window.
        public var addressIsKnown = false
    }

    /// The counts for one attempt, each since its own window start.
    public func counts(subject: String, address: String, pairSince: Int, addressSince: Int, subjectSince: Int, knownSince: Int)
        async throws -> Counts
    {
        try await pool.read { db in
            var counts = Counts()
            counts.address =
                try Int.fetchOne(
                    db, sql: "SELECT COUNT(*) FROM login_failure WHERE address = ? AND failed_at > ?", arguments: [address, addressSince])
                ?? 0
            counts.pair =
                try Int.fetchOne(
                    db, sql: "SELECT COUNT(*) FROM login_failure WHERE subject = ? AND address = ? AND failed_at > ?",
                    arguments: [subject, address, pairSince]) ?? 0
            if let row = try Row.fetchOne(
                db, sql: "SELECT COUNT(*) AS n, MAX(failed_at) AS last FROM login_failure WHERE subject = ? AND failed_at > ?",
                arguments: [subject, subjectSince])
            {
                counts.subject = row["n"]
                counts.lastSubjectFailure = row["last"]
            }
            counts.addressIsKnown =
                try Bool.fetchOne(
                    db, sql: "SELECT EXISTS (SELECT 1 FROM login_success WHERE did = ? AND address = ? AND signed_in_at > ?)",
                    arguments: [subject, address, knownSince]) ?? false
            return counts
        }
    }

    /// Records a failed sign-in and forgets failures past their retention.
    public func recordFailure(subject: String, address: String, at time: Int) async throws {
        try await pool.write { db in
            try db.execute(
                sql: "INSERT INTO login_failure (subject, address, failed_at) VALUES (?, ?, ?)", arguments: [subject, address, time])
            try db.execute(sql: "DELETE FROM login_failure WHERE failed_at < ?", arguments: [time - Self.failureRetention])
        }
    }

    /// Records a sign-in: this address's failures for the account are
    /// forgotten and the address becomes known to the account.
    public func recordSuccess(did: DID, address: String, at time: Int) async throws {
        try await pool.write { db in
            try db.execute(sql: "DELETE FROM login_failure WHERE subject = ? AND address = ?", arguments: [did, address])
            try db.execute(
                sql: """
                    INSERT INTO login_success (did, address, signed_in_at) VALUES (?, ?, ?)
                    ON CONFLICT (did, address) DO UPDATE SET signed_in_at = excluded.signed_in_at
                    """,
                arguments: [did, address, time])
            try db.execute(sql: "DELETE FROM login_success WHERE signed_in_at < ?", arguments: [time - Self.successRetention])
        }
    }

    /// Forgets an account's failures (its password changed), inside the
    /// caller's transaction.
    static func forgetFailures(did: DID, in tx: WriteTransaction) throws {
        let db = tx.db
        try db.execute(sql: "DELETE FROM login_failure WHERE subject = ?", arguments: [did])
    }

    /// Forgets everything about an account's sign-ins, inside the caller's
    /// transaction (the account is deleted).
    static func forgetAccount(did: DID, in tx: WriteTransaction) throws {
        let db = tx.db
        try forgetFailures(did: did, in: tx)
        try db.execute(sql: "DELETE FROM login_success WHERE did = ?", arguments: [did])
    }
}
