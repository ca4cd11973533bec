import Foundation
import Synchronization

/// Makes TIDs from the wall clock, each strictly greater than every TID the
/// same generator made before, for record keys and repository revisions.
///
/// - The clock id is fixed per generator (random unless given).
/// - If the clock stalls or goes backwards, the timestamp is advanced by one
///   microsecond past the last one used, so TIDs stay strictly increasing;
///   they catch up with the clock again once it passes them.
/// - `next(after:)` also stays strictly above a given TID, for a commit
///   whose `rev` must be greater than the repository's previous `rev`.
///
/// It is safe to use from many tasks at once: the state is behind a
/// `Mutex`, and the clock is read outside it.
@available(macOS 15.0, iOS 18.0, tvOS 18.0, watchOS 11.0, visionOS 2.0, *)
public final class TIDGenerator: Sendable {
    /// Thrown by `next(after:)` when no TID with a 53-bit timestamp is
    /// greater than the given one (a TID from about the year 2255 or later).
    public struct ExhaustedError: Error, Sendable, Hashable, CustomStringConvertible {
        /// The TID that could not be exceeded.
        public let previous: TID

        public var description: String {
            "no TID with a 53-bit timestamp is greater than '\(previous)'"
        }
    }

    /// A generator for the whole process, with a random clock id.
    public static let shared = TIDGenerator()

    /// The clock id put in every TID of this generator (10 bits).
    public let clockID: UInt16

    private let clock: @Sendable () -> UInt64
    /// The timestamp of the last TID returned (0 before the first).
    private let lastTimestamp = Mutex<UInt64>(0)

    /// Creates a generator.
    /// - Parameters:
    ///   - clockID: the clock id (0...1023); random by default.
    ///   - clock: the current time in microseconds since the Unix epoch; the
    ///     system clock by default. Tests inject their own.
    public init(
        clockID: UInt16 = .random(in: 0...TID.maxClockID),
        clock: @escaping @Sendable () -> UInt64 = { TIDGenerator.systemClockMicros() }
    ) {
        precondition(clockID <= TID.maxClockID, "a TID clock id has 10 bits")
        self.clockID = clockID
        self.clock = clock
    }

    /// The system wall clock in microseconds since the Unix epoch.
    public static func systemClockMicros() -> UInt64 {
        let seconds = Date().timeIntervalSince1970
        return seconds > 0 ? UInt64(seconds * 1_000_000) : 0
    }

    /// The next TID: the current time, or one microsecond past the last TID
    /// this generator returned if the clock has not moved past it.
    ///
    /// - Precondition: the last TID returned is below the end of the 53-bit
    ///   timestamp range (year 2255), which `next(after:)` can only reach
    ///   when given such a TID.
    public func next() -> TID {
        let now = min(clock(), TID.maxTimestampMicros)
        let clockID = self.clockID
        return lastTimestamp.withLock { last in
            precondition(last < TID.maxTimestampMicros, "TID timestamps are exhausted")
            let timestamp = max(now, last + 1)
            last = timestamp
            return TID(timestampMicros: timestamp, clockID: clockID)
        }
    }

    /// The next TID that is also strictly greater than `previous`: what
    /// `next()` would return, or, if that is not greater than `previous`,
    /// the smallest TID of this generator's clock id that is.
    ///
    /// Later calls to `next()` stay above the result.
    /// - Throws: `ExhaustedError` if no TID with a 53-bit timestamp is
    ///   greater than `previous`.
    public func next(after previous: TID) throws(ExhaustedError) -> TID {
        let now = min(clock(), TID.maxTimestampMicros)
        let clockID = self.clockID
        return try lastTimestamp.withLock { (last: inout UInt64) throws(ExhaustedError) -> TID in
            guard last < TID.maxTimestampMicros else { throw ExhaustedError(previous: previous) }
            var timestamp = max(now, last + 1)
            if timestamp << 10 | UInt64(clockID) <= previous.value {
                let base = previous.timestampMicros
                timestamp = clockID > previous.clockID ? base : base + 1
            }
            guard timestamp <= TID.maxTimestampMicros else {
                throw ExhaustedError(previous: previous)
            }
            last = timestamp
            return TID(timestampMicros: timestamp, clockID: clockID)
        }
    }
}
