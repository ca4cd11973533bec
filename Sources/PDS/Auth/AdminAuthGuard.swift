import Crypto
import Foundation
import Synchronization

/// Checks the admin password of HTTP basic auth and throttles guessing it.
///
/// Before this, 1,000 wrong guesses from one address took 0.5 s, all 401.
/// Now each address may fail ``maxFailures`` times in ``window`` seconds;
/// after that it is locked out for ``lockout`` seconds, the right password
/// included (else the lockout would only slow a guesser who has not yet
/// guessed). In memory: a restart forgets the counts, which costs a guesser
/// a restart of the server per 20 guesses.
///
/// The comparison is of SHA-256 digests, in constant time: the time taken
/// tells neither where the strings differ nor how long the password is.
public final class AdminAuthGuard: Sendable {
    public let maxFailures: Int
    public let window: Int
    public let lockout: Int

    private struct Failures {
        var count: Int
        var firstAt: Int
        var lockedUntil: Int?
    }

    private struct State {
        var byAddress: [String: Failures] = [:]
        var lastSweep = 0
    }

    private let state = Mutex(State())

    public init(maxFailures: Int = 20, window: Int = 300, lockout: Int = 900) {
        self.maxFailures = maxFailures
        self.window = window
        self.lockout = lockout
    }

    /// What a check found.
    public enum Outcome: Equatable, Sendable {
        case accepted
        /// A wrong user or password; `lockedNow` when this failure locked the address.
        case rejected(lockedNow: Bool)
        /// The address is locked out for this many more seconds.
        case lockedOut(retryAfter: Int)
    }

    /// Checks `given` (`user:password`, decoded from the header) against
    /// `admin:<password>` for a request from `address`.
    public func check(given: [UInt8], password: String, address: String, now: Int = Int(Date().timeIntervalSince1970)) -> Outcome {
        if let wait = lockedFor(address, now: now) { return .lockedOut(retryAfter: wait) }
        if Self.constantTimeEqual(given, Array("admin:\(password)".utf8)) {
            return .accepted
        }
        return .rejected(lockedNow: recordFailure(address, now: now))
    }

    /// Whether two byte strings are equal, in time that depends on neither.
    public static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        let left = Array(SHA256.hash(data: a))
        let right = Array(SHA256.hash(data: b))
        var diff: UInt8 = 0
        for i in 0..<left.count { diff |= left[i] ^ right[i] }
        return diff == 0
    }

    private func lockedFor(_ address: String, now: Int) -> Int? {
        state.withLock { state in
            guard let until = state.byAddress[address]?.lockedUntil, until > now else { return nil }
            return until - now
        }
    }

    /// Counts a failure; true when it locked the address.
    private func recordFailure(_ address: String, now: Int) -> Bool {
        state.withLock { state in
            var failures = state.byAddress[address] ?? Failures(count: 0, firstAt: now)
            if now - failures.firstAt >= window || failures.lockedUntil.map({ $0 <= now }) == true {
                failures = Failures(count: 0, firstAt: now)
            }
            failures.count += 1
            let locks = failures.count >= maxFailures
            if locks { failures.lockedUntil = now + lockout }
            state.byAddress[address] = failures
            // Forget stale addresses now and then, so memory stays bounded.
            if now - state.lastSweep > 60 {
                state.lastSweep = now
                state.byAddress = state.byAddress.filter { entry in
                    (entry.value.lockedUntil ?? 0) > now || now - entry.value.firstAt < window
                }
            }
            return locks
        }
    }
}
