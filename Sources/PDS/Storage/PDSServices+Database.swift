import GRDB
import ServiceStorage

extension PDSServices {
    /// The service database's connections, for store files, the storage
    /// plumbing and tests; everything else goes through ``storage``.
    public var pool: DatabasePool { storage.pool }
}

extension StoreDatabase {
    /// Registers the observers that keep the in-memory caches in step with
    /// committed changes: the getRecord answers (``AccountChangeObserver``)
    /// and the session checks (``SessionChangeObserver``).
    func observeChanges(recordCache: RecordReadCache, sessionChecks: SessionCheckCache) {
        pool.add(transactionObserver: AccountChangeObserver(cache: recordCache), extent: .databaseLifetime)
        pool.add(transactionObserver: SessionChangeObserver(cache: sessionChecks), extent: .databaseLifetime)
    }
}
