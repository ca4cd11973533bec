import GRDB

/// Watches the writer connection for transactions that change accounts or
/// sessions (`account`, `refresh_token`, `oauth_grant`) and, once one has committed,
/// empties the ``SessionCheckCache``. It runs on the writer before the
/// write returns, so a request made after a logout or a takedown is
/// checked against the database again.
final class SessionChangeObserver: TransactionObserver {
    static let tables: Set<String> = ["account", "refresh_token", "oauth_grant"]
    private let cache: SessionCheckCache
    private var changed = false

    init(cache: SessionCheckCache) {
        self.cache = cache
    }

    func observes(eventsOfKind eventKind: DatabaseEventKind) -> Bool {
        Self.tables.contains(eventKind.tableName)
    }

    func databaseDidChange(with event: DatabaseEvent) {
        changed = true
    }

    func databaseDidCommit(_ db: Database) {
        guard changed else { return }
        changed = false
        cache.invalidateAll()
    }

    func databaseDidRollback(_ db: Database) {
        changed = false
    }
}
