import Foundation

/// Who may try a password now, from the failures of earlier attempts.
///
/// Failures are counted per account *and* client address, so an attacker
/// elsewhere cannot lock the owner out (the old rule, five failures from
/// anywhere lock the account everywhere, let anyone do exactly that). Three
/// limits, each refusing with `429` and the seconds to wait:
///
/// - **pair**: 5 failures for one account from one address in 15 minutes
///   lock that address out of that account for 15 minutes;
/// - **address**: 30 failures from one address, whatever the account, in
///   15 minutes lock the address out (a password spray from one place);
/// - **account ceiling**: past 100 failures for one account in 24 hours from
///   all addresses together, addresses that have not signed in to the
///   account in the last 30 days get one try per minute between them (a
///   slow backoff for guessing from many addresses). The owner's addresses
///   are never slowed.
///
/// The reference PDS limits `createSession` to 30 per 5 minutes and 300 a
/// day per identifier and address, with no account-wide lockout; the pair
/// limit here is stricter than that and the ceiling only slows strangers.
/// An identifier no account has is throttled exactly like one that does
/// (``LoginAttemptStore/unknownSubject(_:)``), so the answers do not tell
/// which exist.
public struct LoginThrottle: Sendable {
    public var pairFailures = 5
    public var pairWindow = 15 * 60
    public var addressFailures = 30
    public var addressWindow = 15 * 60
    public var accountCeiling = 100
    public var accountWindow = 86_400
    /// Seconds between attempts from unknown addresses past the ceiling.
    public var slowInterval = 60
    /// How long a sign-in keeps its address known to the account.
    public var knownWindow = 30 * 86_400

    public init() {}

    /// Nil when an attempt may go ahead, else the seconds to wait.
    public func wait(_ counts: LoginAttemptStore.Counts, now: Int) -> Int? {
        if counts.pair >= pairFailures { return pairWindow }
        if counts.address >= addressFailures { return addressWindow }
        if counts.subject >= accountCeiling && !counts.addressIsKnown, let last = counts.lastSubjectFailure {
            let next = last + slowInterval
            if next > now { return next - now }
        }
        return nil
    }

    /// The counts an attempt against `subject` from `address` is judged by.
    public func counts(subject: String, address: String, store: LoginAttemptStore, now: Int) async throws -> LoginAttemptStore.Counts {
        try await store.counts(
            subject: subject, address: address, pairSince: now - pairWindow, addressSince: now - addressWindow,
            subjectSince: now - accountWindow, knownSince: now - knownWindow)
    }
}
