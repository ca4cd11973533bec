import ATProto
import Synchronization

/// Rules for records of a collection beyond what its Lexicon can say (a
/// pattern, a sum), added by extensions for their own collections. The
/// repository endpoints run them after the Lexicon validation, so a record
/// that breaks them is refused with 400 and nothing is written.
public final class RecordChecks: Sendable {
    /// Returns why the record is invalid, or nil when it is fine.
    public typealias Check = @Sendable (DataValue) -> String?

    private let checks = Mutex<[NSID: [Check]]>([:])

    public init() {}

    /// Adds a check for records of `collection`.
    public func add(_ collection: NSID, _ check: @escaping Check) {
        checks.withLock { $0[collection, default: []].append(check) }
    }

    /// The first failure of the checks for `collection`, or nil.
    func failure(collection: NSID, record: DataValue) -> String? {
        let checks = checks.withLock { $0[collection] ?? [] }
        for check in checks {
            if let why = check(record) { return why }
        }
        return nil
    }
}
