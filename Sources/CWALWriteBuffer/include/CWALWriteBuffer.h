#ifndef C_WAL_WRITE_BUFFER_H
#define C_WAL_WRITE_BUFFER_H

/// A SQLite VFS that wraps the platform's default one and gathers the
/// consecutive writes SQLite makes to a write-ahead log (a 24-byte frame
/// header, then the page, for every page a transaction changed) into one
/// write per transaction, instead of two system calls per page.
///
/// Buffered bytes are written before anything else is done with the log
/// file (read, sync, size, truncate, close, a write elsewhere) and before
/// the transaction's new log end is published to other connections (at
/// the shared-memory barrier SQLite runs between its two copies of the
/// wal-index header), so no reader, checkpoint or recovery can see a
/// frame that is not in the file yet. Other files pass straight through.

/// Registers the VFS as the process's default, once; later calls do
/// nothing. Returns SQLITE_OK or SQLite's error code.
int pds_wal_write_buffer_install(void);

/// Counts since start: writes SQLite asked for on log files, and writes
/// actually made to them.
void pds_wal_write_buffer_counts(long long *requested, long long *made);

#endif
