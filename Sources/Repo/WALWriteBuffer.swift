import CWALWriteBuffer

/// Gathers each transaction's write-ahead-log writes into one system call.
///
/// SQLite writes a commit's log frames with two `pwrite`s per changed page
/// (a 24-byte header, then the page): ~32 per createRecord, about a third
/// of the kernel time the writer costs. ``install()`` registers a SQLite
/// VFS over the default one, as the process's default, that keeps a log
/// file's consecutive writes in memory and writes them at once after a
/// commit frame, before any other use of the log file, and before SQLite
/// publishes the log's new end to other connections (see
/// `CWALWriteBuffer.h`). Databases opened after it use it.
public enum WALWriteBuffer {
    /// Why the VFS could not be registered.
    public struct InstallError: Error, CustomStringConvertible {
        /// SQLite's result code.
        public let code: Int32
        public var description: String { "could not register the write-ahead-log write buffer with SQLite (error \(code))" }
    }

    /// Registers the VFS once per process; later calls do nothing.
    public static func install() throws {
        let code = pds_wal_write_buffer_install()
        guard code == 0 else { throw InstallError(code: code) }
    }

    /// Writes SQLite asked for on log files since start, and writes made.
    public static var counts: (requested: Int, made: Int) {
        var requested: Int64 = 0
        var made: Int64 = 0
        pds_wal_write_buffer_counts(&requested, &made)
        return (Int(requested), Int(made))
    }
}
