// Installs the page cache filter and the write-ahead-log write buffer once
// per process, when the program loads: sqlite3_config may only run while no
// other thread uses SQLite, and before anything initializes it.
#include "CSQLiteTuning.h"

#include <pthread.h>
#include <sqlite3.h>

static pthread_once_t once = PTHREAD_ONCE_INIT;
static int result = SQLITE_ERROR;

static void install(void) {
    // Fails harmlessly (SQLITE_MISUSE) if SQLite was initialized already:
    // the default cache stays, and only costs its scans.
    (void)pds_sqlite_page_cache_filter_configure();
    int rc = sqlite3_initialize();
    result = rc == SQLITE_OK ? pds_wal_write_buffer_register() : rc;
}

int pds_sqlite_tuning_install(void) {
    pthread_once(&once, install);
    return result;
}

__attribute__((constructor)) static void installAtLoad(void) { (void)pds_sqlite_tuning_install(); }
