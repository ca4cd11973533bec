import Synchronization

/// Runs operations one at a time per key (a repository DID, a blob CID), letting
/// operations on different keys run concurrently. Waiters are served in
/// arrival order. The bookkeeping is under a mutex, not in an actor, so
/// the body runs on the caller's own executor: taking a free lock costs no
/// task switch.
public final class KeyedLock<Key: Hashable & Sendable>: Sendable {
    private struct State {
        var held: Set<Key> = []
        var waiters: [Key: [CheckedContinuation<Void, Never>]] = [:]
    }

    private let state = Mutex(State())

    public init() {}

    /// Runs `body` while holding the lock for `key`.
    public func withLock<T: Sendable>(_ key: Key, _ body: @Sendable () async throws -> T) async throws -> T {
        await acquire(key)
        defer { release(key) }
        return try await body()
    }

    private func acquire(_ key: Key) async {
        let free = state.withLock { s in s.held.insert(key).inserted }
        if free { return }
        await withCheckedContinuation { continuation in
            // Released between the two looks: take it now.
            let takenNow = state.withLock { s -> Bool in
                if s.held.insert(key).inserted { return true }
                s.waiters[key, default: []].append(continuation)
                return false
            }
            if takenNow { continuation.resume() }
        }
    }

    private func release(_ key: Key) {
        let next = state.withLock { s -> CheckedContinuation<Void, Never>? in
            guard var queue = s.waiters[key], !queue.isEmpty else {
                s.held.remove(key)
                return nil
            }
            let next = queue.removeFirst()
            s.waiters[key] = queue.isEmpty ? nil : queue
            return next  // ownership passes directly to the next waiter
        }
        next?.resume()
    }
}
