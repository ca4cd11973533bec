import CSQLiteTuning

/// Two changes to how SQLite does its work in this process, neither of
/// which changes what is stored or what a connection sees (see
/// `CSQLiteTuning.h`):
///
/// - The write-ahead-log write buffer: SQLite writes a commit's log frames
///   with two `pwrite`s per changed page (a 24-byte header, then the page),
///   ~32 per createRecord; a VFS over the default one keeps a log file's
///   consecutive writes in memory and writes them at once at the commit
///   frame, before any other use of the log file, and before SQLite
///   publishes the log's new end to other connections.
/// - The page cache truncation filter: SQLite's default page cache scans
///   its whole hash table at the end of every write transaction once a
///   B-tree balance has used the lock-byte page's number as a temporary
///   one; a wrapper skips truncations with nothing to remove.
///
/// Both are installed when the program loads (SQLite's configuration may
/// only change before anything uses it); ``install()`` reports whether that
/// worked, and ``ServiceDatabase`` checks it before opening a database.
public enum SQLiteTuning {
    /// Why the VFS could not be registered.
    public struct InstallError: Error, CustomStringConvertible {
        /// SQLite's result code.
        public let code: Int32
        public var description: String { "could not register the write-ahead-log write buffer with SQLite (error \(code))" }
    }

    /// Installs both once per process (already done at load); throws if
    /// the write buffer could not be registered.
    public static func install() throws {
        let code = pds_sqlite_tuning_install()
        guard code == 0 else { throw InstallError(code: code) }
    }

    /// Whether the page cache filter is in place (it cannot be if SQLite
    /// was initialized before this library loaded).
    public static var pageCacheFilterInstalled: Bool { pds_sqlite_page_cache_filter_installed() != 0 }

    /// Counts since start on the calling thread (a connection's work within
    /// one GRDB access runs on one thread): writes SQLite asked for on log
    /// files, and writes made.
    public static var logWriteCounts: (requested: Int, made: Int) {
        var requested: Int64 = 0
        var made: Int64 = 0
        pds_wal_write_buffer_counts(&requested, &made)
        return (Int(requested), Int(made))
    }

    /// Counts since start on the calling thread (a connection's work within
    /// one GRDB access runs on one thread): page cache truncations SQLite
    /// asked for, those passed on to the default cache, and pages the
    /// B-tree moved to the lock-byte page's number.
    public static var pageCacheCounts: (truncations: Int, passed: Int, temporaryMoves: Int) {
        var truncations: Int64 = 0
        var passed: Int64 = 0
        var moves: Int64 = 0
        pds_sqlite_page_cache_counts(&truncations, &passed, &moves)
        return (Int(truncations), Int(passed), Int(moves))
    }
}
