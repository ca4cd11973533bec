// A SQLite VFS that gathers a transaction's write-ahead-log writes into one
// system call. See include/CSQLiteTuning.h for what it guarantees.
//
// SQLite writes a transaction's frames to the log one after another: for
// every page, a 24-byte frame header and then the page (two pwrite calls
// each, ~32 per createRecord here). This file keeps those bytes in memory
// while they are contiguous and writes them at once:
// - after the page of a commit frame (a frame header whose "database size
//   after commit" field is not zero), so a failed write fails the COMMIT;
// - before any other operation on the log file, and before a write that
//   does not continue the buffered bytes;
// - when the buffer is full;
// - at the main database file's shared-memory barrier and locks, which
//   SQLite runs before it publishes a new end of log to other connections.
// A log file and its database file belong to one connection (one pager),
// so both are used by one thread at a time: no locking is needed here.
#include "CSQLiteTuning.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

/// Size of a frame header in a SQLite write-ahead log (file format).
#define WAL_FRAME_HEADER_SIZE 24
/// Most bytes kept before writing: the unix VFS writes at most 128 KiB - 1
/// bytes per call (it masks the size to 17 bits; a larger write fails as
/// "disk full"). A commit writes ~35 KiB of log, so most take one call.
#define BUFFER_CAPACITY (120 * 1024)

typedef struct BufferedFile BufferedFile;

/// One open file: the wrapped VFS's file object follows this struct in the
/// same allocation (`real`).
struct BufferedFile {
    sqlite3_file base;
    sqlite3_file *real;
    /// Set for a write-ahead log.
    int isLog;
    /// For a database file: its open log, if any (to write it out at the
    /// barrier). For a log: its database file.
    BufferedFile *partner;
    /// Bytes not yet written, meant for `bufferOffset` onwards in the file.
    unsigned char *buffer;
    int bufferUsed;
    sqlite3_int64 bufferOffset;
    /// Set by a commit frame's header: the next write (its page) ends the
    /// transaction's frames.
    int commitPageNext;
};

static sqlite3_vfs *wrapped;
static sqlite3_vfs bufferedVFS;
// Per thread, so that a test can count what its own connection did.
static _Thread_local long long requestedWrites;
static _Thread_local long long madeWrites;

static sqlite3_file *realFile(sqlite3_file *file) { return ((BufferedFile *)file)->real; }

/// Writes the buffered bytes out. On failure they are dropped: SQLite
/// rolls the transaction back and writes its frames again.
static int flush(BufferedFile *file) {
    if (file->bufferUsed == 0) return SQLITE_OK;
    int used = file->bufferUsed;
    file->bufferUsed = 0;
    madeWrites++;
    return file->real->pMethods->xWrite(file->real, file->buffer, used, file->bufferOffset);
}

static int directWrite(BufferedFile *file, const void *data, int amount, sqlite3_int64 offset) {
    madeWrites++;
    return file->real->pMethods->xWrite(file->real, data, amount, offset);
}

static int logWrite(BufferedFile *file, const void *data, int amount, sqlite3_int64 offset) {
    requestedWrites++;
    int endsTransaction = file->commitPageNext;
    file->commitPageNext = 0;
    if (amount == WAL_FRAME_HEADER_SIZE) {
        const unsigned char *header = data;
        // Bytes 4-7: the database size after a commit, zero in other frames.
        file->commitPageNext = (header[4] | header[5] | header[6] | header[7]) != 0;
    }
    int contiguous = file->bufferUsed > 0 && offset == file->bufferOffset + file->bufferUsed;
    if (!contiguous || file->bufferUsed + amount > BUFFER_CAPACITY) {
        int rc = flush(file);
        if (rc != SQLITE_OK) return rc;
    }
    if (file->buffer == NULL) file->buffer = malloc(BUFFER_CAPACITY);
    if (file->buffer == NULL || amount > BUFFER_CAPACITY) return directWrite(file, data, amount, offset);
    if (file->bufferUsed == 0) file->bufferOffset = offset;
    memcpy(file->buffer + file->bufferUsed, data, (size_t)amount);
    file->bufferUsed += amount;
    return endsTransaction ? flush(file) : SQLITE_OK;
}

/// Writes out the log of a database file (or a log itself) before an
/// operation that must see or publish its frames.
static int flushLogOf(sqlite3_file *file) {
    BufferedFile *buffered = (BufferedFile *)file;
    if (buffered->isLog) return flush(buffered);
    return buffered->partner != NULL ? flush(buffered->partner) : SQLITE_OK;
}

// MARK: - I/O methods

static int xClose(sqlite3_file *file) {
    BufferedFile *buffered = (BufferedFile *)file;
    int rc = buffered->isLog ? flush(buffered) : SQLITE_OK;
    if (buffered->partner != NULL) buffered->partner->partner = NULL;
    buffered->partner = NULL;
    free(buffered->buffer);
    buffered->buffer = NULL;
    int closed = buffered->real->pMethods->xClose(buffered->real);
    return rc != SQLITE_OK ? rc : closed;
}

static int xRead(sqlite3_file *file, void *data, int amount, sqlite3_int64 offset) {
    BufferedFile *buffered = (BufferedFile *)file;
    if (buffered->isLog) {
        int rc = flush(buffered);
        if (rc != SQLITE_OK) return rc;
    }
    return buffered->real->pMethods->xRead(buffered->real, data, amount, offset);
}

static int xWrite(sqlite3_file *file, const void *data, int amount, sqlite3_int64 offset) {
    BufferedFile *buffered = (BufferedFile *)file;
    if (buffered->isLog) return logWrite(buffered, data, amount, offset);
    return buffered->real->pMethods->xWrite(buffered->real, data, amount, offset);
}

static int xTruncate(sqlite3_file *file, sqlite3_int64 size) {
    int rc = ((BufferedFile *)file)->isLog ? flushLogOf(file) : SQLITE_OK;
    return rc != SQLITE_OK ? rc : realFile(file)->pMethods->xTruncate(realFile(file), size);
}

static int xSync(sqlite3_file *file, int flags) {
    int rc = ((BufferedFile *)file)->isLog ? flushLogOf(file) : SQLITE_OK;
    return rc != SQLITE_OK ? rc : realFile(file)->pMethods->xSync(realFile(file), flags);
}

static int xFileSize(sqlite3_file *file, sqlite3_int64 *size) {
    int rc = ((BufferedFile *)file)->isLog ? flushLogOf(file) : SQLITE_OK;
    return rc != SQLITE_OK ? rc : realFile(file)->pMethods->xFileSize(realFile(file), size);
}

static int xLock(sqlite3_file *file, int level) { return realFile(file)->pMethods->xLock(realFile(file), level); }

static int xUnlock(sqlite3_file *file, int level) { return realFile(file)->pMethods->xUnlock(realFile(file), level); }

static int xCheckReservedLock(sqlite3_file *file, int *out) {
    return realFile(file)->pMethods->xCheckReservedLock(realFile(file), out);
}

static int xFileControl(sqlite3_file *file, int op, void *arg) {
    int rc = ((BufferedFile *)file)->isLog ? flushLogOf(file) : SQLITE_OK;
    return rc != SQLITE_OK ? rc : realFile(file)->pMethods->xFileControl(realFile(file), op, arg);
}

static int xSectorSize(sqlite3_file *file) { return realFile(file)->pMethods->xSectorSize(realFile(file)); }

static int xDeviceCharacteristics(sqlite3_file *file) {
    return realFile(file)->pMethods->xDeviceCharacteristics(realFile(file));
}

static int xShmMap(sqlite3_file *file, int page, int pageSize, int extend, void volatile **out) {
    if (realFile(file)->pMethods->iVersion < 2) return SQLITE_IOERR_SHMMAP;
    return realFile(file)->pMethods->xShmMap(realFile(file), page, pageSize, extend, out);
}

static int xShmLock(sqlite3_file *file, int offset, int count, int flags) {
    if (realFile(file)->pMethods->iVersion < 2) return SQLITE_IOERR_SHMLOCK;
    int rc = flushLogOf(file);
    return rc != SQLITE_OK ? rc : realFile(file)->pMethods->xShmLock(realFile(file), offset, count, flags);
}

static void xShmBarrier(sqlite3_file *file) {
    // A second line: a commit's frames were written at its commit frame
    // (see logWrite), where a failure fails the COMMIT. This cannot report
    // an error, so it only matters if SQLite ever ends frames differently.
    (void)flushLogOf(file);
    if (realFile(file)->pMethods->iVersion >= 2) realFile(file)->pMethods->xShmBarrier(realFile(file));
}

static int xShmUnmap(sqlite3_file *file, int deleteFlag) {
    int rc = flushLogOf(file);
    int unmapped = realFile(file)->pMethods->iVersion >= 2 ? realFile(file)->pMethods->xShmUnmap(realFile(file), deleteFlag) : SQLITE_OK;
    return rc != SQLITE_OK ? rc : unmapped;
}

static int xFetch(sqlite3_file *file, sqlite3_int64 offset, int amount, void **out) {
    int rc = ((BufferedFile *)file)->isLog ? flushLogOf(file) : SQLITE_OK;
    if (rc != SQLITE_OK) return rc;
    if (realFile(file)->pMethods->iVersion < 3) {
        *out = NULL;  // No memory map: SQLite reads instead.
        return SQLITE_OK;
    }
    return realFile(file)->pMethods->xFetch(realFile(file), offset, amount, out);
}

static int xUnfetch(sqlite3_file *file, sqlite3_int64 offset, void *page) {
    if (realFile(file)->pMethods->iVersion < 3) return SQLITE_OK;
    return realFile(file)->pMethods->xUnfetch(realFile(file), offset, page);
}

static const sqlite3_io_methods bufferedMethods = {
    3, xClose, xRead, xWrite, xTruncate, xSync, xFileSize, xLock, xUnlock, xCheckReservedLock, xFileControl,
    xSectorSize, xDeviceCharacteristics, xShmMap, xShmLock, xShmBarrier, xShmUnmap, xFetch, xUnfetch,
};

// MARK: - VFS methods

static int xOpen(sqlite3_vfs *vfs, sqlite3_filename name, sqlite3_file *file, int flags, int *outFlags) {
    (void)vfs;
    BufferedFile *buffered = (BufferedFile *)file;
    memset(buffered, 0, sizeof(BufferedFile));
    buffered->real = (sqlite3_file *)(buffered + 1);
    int rc = wrapped->xOpen(wrapped, name, buffered->real, flags, outFlags);
    if (rc != SQLITE_OK || buffered->real->pMethods == NULL) {
        // SQLite calls xClose only when pMethods is set.
        if (buffered->real->pMethods != NULL) buffered->real->pMethods->xClose(buffered->real);
        buffered->base.pMethods = NULL;
        return rc;
    }
    buffered->base.pMethods = &bufferedMethods;
    if ((flags & SQLITE_OPEN_WAL) && name != NULL) {
        buffered->isLog = 1;
        sqlite3_file *database = sqlite3_database_file_object(name);
        if (database != NULL && database->pMethods == &bufferedMethods) {
            buffered->partner = (BufferedFile *)database;
            buffered->partner->partner = buffered;
        }
    }
    return SQLITE_OK;
}

static int xDelete(sqlite3_vfs *vfs, const char *name, int syncDir) {
    (void)vfs;
    return wrapped->xDelete(wrapped, name, syncDir);
}

static int xAccess(sqlite3_vfs *vfs, const char *name, int flags, int *out) {
    (void)vfs;
    return wrapped->xAccess(wrapped, name, flags, out);
}

static int xFullPathname(sqlite3_vfs *vfs, const char *name, int size, char *out) {
    (void)vfs;
    return wrapped->xFullPathname(wrapped, name, size, out);
}

static void *xDlOpen(sqlite3_vfs *vfs, const char *name) {
    (void)vfs;
    return wrapped->xDlOpen(wrapped, name);
}

static void xDlError(sqlite3_vfs *vfs, int size, char *out) {
    (void)vfs;
    wrapped->xDlError(wrapped, size, out);
}

static void (*xDlSym(sqlite3_vfs *vfs, void *handle, const char *symbol))(void) {
    (void)vfs;
    return wrapped->xDlSym(wrapped, handle, symbol);
}

static void xDlClose(sqlite3_vfs *vfs, void *handle) {
    (void)vfs;
    wrapped->xDlClose(wrapped, handle);
}

static int xRandomness(sqlite3_vfs *vfs, int size, char *out) {
    (void)vfs;
    return wrapped->xRandomness(wrapped, size, out);
}

static int xSleep(sqlite3_vfs *vfs, int microseconds) {
    (void)vfs;
    return wrapped->xSleep(wrapped, microseconds);
}

static int xCurrentTime(sqlite3_vfs *vfs, double *out) {
    (void)vfs;
    return wrapped->xCurrentTime(wrapped, out);
}

static int xGetLastError(sqlite3_vfs *vfs, int size, char *out) {
    (void)vfs;
    return wrapped->xGetLastError ? wrapped->xGetLastError(wrapped, size, out) : 0;
}

static int xCurrentTimeInt64(sqlite3_vfs *vfs, sqlite3_int64 *out) {
    (void)vfs;
    return wrapped->xCurrentTimeInt64(wrapped, out);
}

static int xSetSystemCall(sqlite3_vfs *vfs, const char *name, sqlite3_syscall_ptr call) {
    (void)vfs;
    return wrapped->xSetSystemCall(wrapped, name, call);
}

static sqlite3_syscall_ptr xGetSystemCall(sqlite3_vfs *vfs, const char *name) {
    (void)vfs;
    return wrapped->xGetSystemCall(wrapped, name);
}

static const char *xNextSystemCall(sqlite3_vfs *vfs, const char *name) {
    (void)vfs;
    return wrapped->xNextSystemCall(wrapped, name);
}

/// Registers the VFS as the default. Called once, after SQLite is
/// initialized.
int pds_wal_write_buffer_register(void) {
    wrapped = sqlite3_vfs_find(NULL);
    if (wrapped == NULL || wrapped->iVersion < 3) return SQLITE_ERROR;
    bufferedVFS = (sqlite3_vfs){
        .iVersion = 3,
        .szOsFile = (int)sizeof(BufferedFile) + wrapped->szOsFile,
        .mxPathname = wrapped->mxPathname,
        .zName = "pds-wal-write-buffer",
        .xOpen = xOpen,
        .xDelete = xDelete,
        .xAccess = xAccess,
        .xFullPathname = xFullPathname,
        .xDlOpen = xDlOpen,
        .xDlError = xDlError,
        .xDlSym = xDlSym,
        .xDlClose = xDlClose,
        .xRandomness = xRandomness,
        .xSleep = xSleep,
        .xCurrentTime = xCurrentTime,
        .xGetLastError = xGetLastError,
        .xCurrentTimeInt64 = xCurrentTimeInt64,
        .xSetSystemCall = xSetSystemCall,
        .xGetSystemCall = xGetSystemCall,
        .xNextSystemCall = xNextSystemCall,
    };
    return sqlite3_vfs_register(&bufferedVFS, 1);
}

void pds_wal_write_buffer_counts(long long *requested, long long *made) {
    *requested = requestedWrites;
    *made = madeWrites;
}
