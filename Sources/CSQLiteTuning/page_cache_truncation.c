// SQLite's default page cache, wrapped so that a truncation with nothing to
// remove is not passed on. See include/CSQLiteTuning.h for why.
//
// SQLite asks its page cache to drop the pages past the database's end at
// the end of every write transaction. The default cache (pcache1) remembers
// the highest page number it was ever given and scans its whole hash table
// whenever that number is far past the limit. B-tree balancing gives a page
// the lock-byte page's number for a moment (it swaps two pages' numbers
// through it), so after the first balance every truncation scans: a cache
// miss per cached page at every commit. This wrapper keeps its own bound:
// the highest page number a cached page may have, not counting the pages
// moved to the lock-byte number, which it counts as they come and go. When
// no page can be at or past the limit, the truncation is skipped; the
// default cache would have removed nothing.
//
// Every page enters the cache through xFetch and changes number only
// through xRekey, and both are seen here, so the bound never misses a page.
// A cache is used by one connection at a time.
#include "CSQLiteTuning.h"

#include <sqlite3.h>
#include <stddef.h>

/// Where the lock-byte page starts in every SQLite file (file format).
#define LOCK_BYTE_OFFSET 0x40000000u

/// One cache: the default cache's object and this wrapper's bound.
typedef struct FilteredCache {
    sqlite3_pcache *inner;
    /// The lock-byte page's number at this cache's page size: never a real
    /// page, used by the B-tree as a temporary number.
    unsigned temporaryKey;
    /// No cached page has a higher number, except pages at temporaryKey.
    unsigned maxKey;
    /// Pages moved to temporaryKey and not moved away since.
    int atTemporaryKey;
} FilteredCache;

static sqlite3_pcache_methods2 inner;
static int installed;
// Per thread, so that a test can count what its own connection did.
static _Thread_local long long requestedTruncations;
static _Thread_local long long passedTruncations;
static _Thread_local long long temporaryRekeys;

static int xInit(void *arg) {
    (void)arg;
    return inner.xInit(inner.pArg);
}

static void xShutdown(void *arg) {
    (void)arg;
    if (inner.xShutdown) inner.xShutdown(inner.pArg);
}

static sqlite3_pcache *xCreate(int pageSize, int extraSize, int purgeable) {
    FilteredCache *cache = sqlite3_malloc(sizeof(FilteredCache));
    if (cache == NULL) return NULL;
    cache->inner = inner.xCreate(pageSize, extraSize, purgeable);
    if (cache->inner == NULL) {
        sqlite3_free(cache);
        return NULL;
    }
    cache->temporaryKey = pageSize > 0 ? LOCK_BYTE_OFFSET / (unsigned)pageSize + 1 : 0;
    cache->maxKey = 0;
    cache->atTemporaryKey = 0;
    return (sqlite3_pcache *)cache;
}

static void xCachesize(sqlite3_pcache *cache, int size) { inner.xCachesize(((FilteredCache *)cache)->inner, size); }

static int xPagecount(sqlite3_pcache *cache) { return inner.xPagecount(((FilteredCache *)cache)->inner); }

static sqlite3_pcache_page *xFetch(sqlite3_pcache *cache, unsigned key, int create) {
    FilteredCache *filtered = (FilteredCache *)cache;
    sqlite3_pcache_page *page = inner.xFetch(filtered->inner, key, create);
    // Counted even for the temporary number: then every truncation is
    // passed on until one removes it.
    if (page != NULL && key > filtered->maxKey) filtered->maxKey = key;
    return page;
}

static void xUnpin(sqlite3_pcache *cache, sqlite3_pcache_page *page, int discard) {
    inner.xUnpin(((FilteredCache *)cache)->inner, page, discard);
}

static void xRekey(sqlite3_pcache *cache, sqlite3_pcache_page *page, unsigned oldKey, unsigned newKey) {
    FilteredCache *filtered = (FilteredCache *)cache;
    inner.xRekey(filtered->inner, page, oldKey, newKey);
    if (oldKey == filtered->temporaryKey && filtered->atTemporaryKey > 0) filtered->atTemporaryKey--;
    if (newKey == filtered->temporaryKey) {
        filtered->atTemporaryKey++;
        temporaryRekeys++;
    } else if (newKey > filtered->maxKey) {
        filtered->maxKey = newKey;
    }
}

static void xTruncate(sqlite3_pcache *cache, unsigned limit) {
    FilteredCache *filtered = (FilteredCache *)cache;
    requestedTruncations++;
    int temporaryPagesGo = filtered->atTemporaryKey > 0 && filtered->temporaryKey >= limit;
    if (!temporaryPagesGo && filtered->maxKey < limit) return;  // Nothing at or past the limit.
    passedTruncations++;
    inner.xTruncate(filtered->inner, limit);
    // Every page at or past the limit is gone.
    if (filtered->temporaryKey >= limit) filtered->atTemporaryKey = 0;
    if (limit == 0) {
        filtered->maxKey = 0;
    } else if (filtered->maxKey > limit - 1) {
        filtered->maxKey = limit - 1;
    }
}

static void xDestroy(sqlite3_pcache *cache) {
    FilteredCache *filtered = (FilteredCache *)cache;
    inner.xDestroy(filtered->inner);
    sqlite3_free(filtered);
}

static void xShrink(sqlite3_pcache *cache) { inner.xShrink(((FilteredCache *)cache)->inner); }

/// Puts the wrapper in place of the configured page cache. Must run before
/// SQLite is initialized (else SQLITE_MISUSE, and nothing changes).
int pds_sqlite_page_cache_filter_configure(void) {
    int rc = sqlite3_config(SQLITE_CONFIG_GETPCACHE2, &inner);
    if (rc != SQLITE_OK) return rc;
    if (inner.xInit == NULL || inner.xShrink == NULL) return SQLITE_ERROR;
    static sqlite3_pcache_methods2 filtered = {
        1, NULL, xInit, xShutdown, xCreate, xCachesize, xPagecount, xFetch, xUnpin, xRekey, xTruncate, xDestroy, xShrink,
    };
    filtered.iVersion = inner.iVersion;
    rc = sqlite3_config(SQLITE_CONFIG_PCACHE2, &filtered);
    installed = rc == SQLITE_OK;
    return rc;
}

int pds_sqlite_page_cache_filter_installed(void) { return installed; }

void pds_sqlite_page_cache_counts(long long *truncations, long long *passed, long long *temporaryMoves) {
    *truncations = requestedTruncations;
    *passed = passedTruncations;
    *temporaryMoves = temporaryRekeys;
}
