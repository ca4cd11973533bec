import Foundation
import Logging
import Synchronization

/// Why the guard refused or closed a connection: one log line per class.
public enum ConnectionEvent: String, Sendable, CaseIterable {
    case tooManyFromAddress = "too many connections from one address"
    case tooManyConnections = "too many connections"
    case headerTimeout = "request head not received in time"
    case idleTimeout = "idle keep-alive connection closed"
    case bodyTooSlow = "request body arriving too slowly"
    case writeStalled = "client stopped reading the answer"
    case lingerTimeout = "client did not close after Connection: close"
    case malformed = "malformed request"
    case headerTooLarge = "request header too large"
    case urlTooLong = "request URL too long"

    /// Idle keep-alive connections closing is ordinary; the rest are worth
    /// an operator's eye.
    var level: Logger.Level { self == .idleTimeout ? .debug : .notice }
}

/// Logs connection events, at most one line per class every 10 seconds
/// with a count of those not logged: 20,000 bad sockets must not become
/// 20,000 log lines.
public final class ConnectionEventLog: Sendable {
    private struct Counter {
        var lastLogged: ContinuousClock.Instant?
        var suppressed = 0
    }

    private let counters = Mutex<[ConnectionEvent: Counter]>([:])
    private let total = Mutex<[ConnectionEvent: Int]>([:])
    private let logger: Logger
    private let interval: Duration

    public init(logger: Logger, interval: Duration = .seconds(10)) {
        self.logger = logger
        self.interval = interval
    }

    /// Notes an event for a connection from `address`.
    public func note(_ event: ConnectionEvent, address: String) {
        total.withLock { $0[event, default: 0] += 1 }
        let now = ContinuousClock.now
        let suppressed: Int? = counters.withLock { counters in
            var counter = counters[event] ?? Counter()
            defer { counters[event] = counter }
            if let last = counter.lastLogged, now - last < interval {
                counter.suppressed += 1
                return nil
            }
            let before = counter.suppressed
            counter.lastLogged = now
            counter.suppressed = 0
            return before
        }
        guard let suppressed else { return }
        var metadata: Logger.Metadata = ["address": .string(address)]
        if suppressed > 0 { metadata["alsoSinceLastLine"] = .stringConvertible(suppressed) }
        logger.log(level: event.level, "connection: \(event.rawValue)", metadata: metadata)
    }

    /// How many times each event has happened since start.
    public func counts() -> [ConnectionEvent: Int] {
        total.withLock { $0 }
    }
}
