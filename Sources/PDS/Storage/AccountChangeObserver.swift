import ATProto
import GRDB
import ServiceStorage

/// Watches the writer connection for transactions that append events to
/// the log (`repo_seq`) and, once such a transaction has committed, tells
/// the record cache which accounts changed. It runs on the writer before
/// the write returns, so a client that reads what it has just written
/// never gets the cached answer from before.
final class AccountChangeObserver: TransactionObserver {
    private let cache: RecordReadCache
    /// Rows appended to `repo_seq` by the current transaction.
    private var appended: [Int64] = []

    init(cache: RecordReadCache) {
        self.cache = cache
    }

    func observes(eventsOfKind eventKind: DatabaseEventKind) -> Bool {
        if case .insert(let table) = eventKind { return table == "repo_seq" }
        return false
    }

    func databaseDidChange(with event: DatabaseEvent) {
        appended.append(event.rowID)
    }

    func databaseDidCommit(_ db: Database) {
        guard !appended.isEmpty else { return }
        let first = appended.min()!, last = appended.max()!
        appended = []
        // `seq` is the row id, and one transaction's events are consecutive
        // (one writer): the accounts of the events just committed.
        let dids: [DID]
        do {
            dids = try DID.fetchAll(
                db.cachedStatement(sql: "SELECT DISTINCT did FROM repo_seq WHERE seq BETWEEN ? AND ?"), arguments: [first, last])
        } catch {
            // Without the accounts, no cached answer can be trusted.
            cache.clear()
            return
        }
        for did in dids { cache.accountChanged(did) }
    }

    func databaseDidRollback(_ db: Database) {
        appended = []
    }
}
