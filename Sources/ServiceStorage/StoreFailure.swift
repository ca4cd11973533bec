import GRDB

/// What a failed store operation means to the code that called it, for
/// callers that do not see GRDB's errors.
public enum StoreFailure {
    /// Whether `error` is a violated constraint: a uniqueness conflict (a
    /// handle or a name taken meanwhile by a concurrent write), a missing
    /// reference or a failed check. Nothing was written.
    /// Whether `error` came from the database itself (SQLite refused or
    /// failed the operation: a full disk, I/O, a constraint), as opposed
    /// to the caller's own checks.
    public static func isDatabaseError(_ error: any Error) -> Bool {
        error is DatabaseError
    }

    /// Whether `error` is SQLite's "database or disk is full": the write
    /// was rolled back.
    public static func isDiskFull(_ error: any Error) -> Bool {
        (error as? DatabaseError)?.resultCode == .SQLITE_FULL
    }

    public static func isConstraintViolation(_ error: any Error) -> Bool {
        (error as? DatabaseError)?.resultCode == .SQLITE_CONSTRAINT
    }
}
