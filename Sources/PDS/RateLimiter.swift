import Foundation

/// Fixed-window request counters per (limit, key). In memory: limits reset
/// when the server restarts. A request over its limit is refused (fails
/// closed) with the seconds until the window ends.
public actor RateLimiter {
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
        var windowStart: Int
        var count: Int
    }

    private var counters: [String: Counter] = [:]
    private var lastSweep = 0

    public init() {}

    /// Counts one request against `limit` for `key`.
    /// - Returns: nil when allowed, or the seconds to wait.
    public func hit(_ limit: Limit, key: String, now: Int = Int(Date().timeIntervalSince1970)) -> Int? {
        let id = limit.name + "|" + key
        let windowStart = now - now % limit.window
        var counter = counters[id] ?? Counter(windowStart: windowStart, count: 0)
        if counter.windowStart != windowStart { counter = Counter(windowStart: windowStart, count: 0) }
        counter.count += 1
        counters[id] = counter
        sweep(now: now)
        if counter.count > limit.max { return max(1, windowStart + limit.window - now) }
        return nil
    }

    /// Drops counters of past windows now and then, so memory stays bounded.
    private func sweep(now: Int) {
        guard now - lastSweep > 60 else { return }
        lastSweep = now
        counters = counters.filter { now - $0.value.windowStart < 3600 }
    }
}
