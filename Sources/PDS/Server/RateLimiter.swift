import Foundation
import Synchronization

/// Fixed-window request counters per (limit, key), each window starting at
/// its key's first request (as the reference PDS's rate-limiter-flexible
/// counts), not at a multiple of its length: with aligned windows ten calls
/// of a 10-in-5-minutes limit at 12:04:59 and ten more at 12:05:00 all
/// passed. In memory: limits reset when the server restarts. A request
/// over its limit is refused (fails closed) with the seconds until the
/// window ends. A mutex, not an actor: every request passes here, and the
/// work is one dictionary update.
public final class RateLimiter: Sendable {
    /// One named limit: `max` requests per `window` seconds.
    public struct Limit: Sendable, Hashable {
        public let name: String
        public let max: Int
        public let window: Int
        public init(name: String, max: Int, window: Int) {
            self.name = name
            self.max = max
            self.window = window
        }
    }

    private struct Counter {
        /// When the window ends (unix seconds).
        var windowEnd: Int
        var count: Int
    }

    private struct State {
        var counters: [String: Counter] = [:]
        var lastSweep = 0
    }

    private let state = Mutex(State())

    public init() {}

    /// Counts one request against `limit` for `key`.
    /// - Returns: nil when allowed, or the seconds to wait.
    public func hit(_ limit: Limit, key: String, now: Int = Int(Date().timeIntervalSince1970)) -> Int? {
        let id = limit.name + "|" + key
        return state.withLock { state in
            var counter = state.counters[id] ?? Counter(windowEnd: now + limit.window, count: 0)
            if now >= counter.windowEnd { counter = Counter(windowEnd: now + limit.window, count: 0) }
            counter.count += 1
            state.counters[id] = counter
            // Drop counters of ended windows now and then, so memory stays
            // bounded. (Until this dropped every counter older than an hour,
            // which reset the daily limits every hour.)
            if now - state.lastSweep > 60 {
                state.lastSweep = now
                state.counters = state.counters.filter { now < $0.value.windowEnd }
            }
            return counter.count > limit.max ? max(1, counter.windowEnd - now) : nil
        }
    }
}
