#ifndef C_SQLITE_TUNING_H
#define C_SQLITE_TUNING_H

// Two changes to how SQLite does its work, installed once per process
// before the first database opens. Neither changes what is stored or what
// any connection sees.
//
// The write-ahead-log write buffer (wal_write_buffer.c): a SQLite VFS that
// wraps the platform's default one and gathers the consecutive writes
// SQLite makes to a write-ahead log (a 24-byte frame header, then the page,
// for every page a transaction changed) into one write per transaction,
// instead of two system calls per page. Buffered bytes are written at the
// transaction's commit frame (so a failed write fails the COMMIT), before
// anything else is done with the log file (read, sync, size, truncate,
// close, a write elsewhere) and at the shared-memory barrier SQLite runs
// before it publishes the log's new end to other connections, so no
// reader, checkpoint or recovery can see a frame that is not in the file.
// Other files pass straight through.
//
// The page cache truncation filter (page_cache_truncation.c): SQLite's own
// page cache, wrapped so that the truncation SQLite asks for at the end of
// every write transaction is skipped when no cached page can be past the
// limit. SQLite's B-tree balancing moves a page to a temporary page number
// (the lock-byte page's, 524,289 at 2 KiB pages) for a moment, and from
// then on the default cache believes it may hold pages up there, so every
// later truncation scans its whole hash table (16,384 slots for a 32 MiB
// cache: ~4% of the server's CPU in createRecord).

/// Installs both, once; later calls do nothing. Returns SQLITE_OK or
/// SQLite's error code. The page cache can only be replaced before SQLite
/// is initialized; if something initialized it first, only the VFS is
/// installed (see pds_sqlite_page_cache_filter_installed).
int pds_sqlite_tuning_install(void);

/// Counts since start on the calling thread: writes SQLite asked for on
/// log files, and writes actually made to them.
void pds_wal_write_buffer_counts(long long *requested, long long *made);

/// Whether the page cache filter is in place.
int pds_sqlite_page_cache_filter_installed(void);

/// Counts since start on the calling thread: truncations SQLite asked the
/// page cache for, those passed on to it (the others had nothing to
/// remove), and pages moved to the lock-byte page's number.
void pds_sqlite_page_cache_counts(long long *truncations, long long *passed, long long *temporaryMoves);

// Used by the installer (tuning_install.c).
int pds_wal_write_buffer_register(void);
int pds_sqlite_page_cache_filter_configure(void);

#endif
