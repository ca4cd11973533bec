import PDSTestSupport
import Testing

@testable import PDS

/// The fixed-window counters behind the per-account and per-address limits.
@Suite("Rate limiter")
struct RateLimiterTests {
    @Test func aWindowStartsAtItsFirstRequestNotAtAMultipleOfItsLength() {
        let limiter = RateLimiter()
        let limit = RateLimiter.Limit(name: "handle", max: 10, window: 300)
        // Ten calls one second before a multiple of 300 and one just after:
        // aligned windows let the eleventh through (and ten more after it).
        for _ in 0..<10 { #expect(limiter.hit(limit, key: "did:plc:a", now: 1_199) == nil) }
        #expect(limiter.hit(limit, key: "did:plc:a", now: 1_200) == 299)
        #expect(limiter.hit(limit, key: "did:plc:a", now: 1_498) == 1)
        // Once the window has passed, a new one starts.
        #expect(limiter.hit(limit, key: "did:plc:a", now: 1_499) == nil)
        // Other keys count on their own.
        #expect(limiter.hit(limit, key: "did:plc:b", now: 1_200) == nil)
    }

    @Test func aDailyCountSurvivesTheSweepOfEndedWindows() {
        let limiter = RateLimiter()
        let daily = RateLimiter.Limit(name: "daily", max: 50, window: 86_400)
        let minute = RateLimiter.Limit(name: "minute", max: 5, window: 60)
        for _ in 0..<50 { #expect(limiter.hit(daily, key: "k", now: 0) == nil) }
        _ = limiter.hit(minute, key: "k", now: 10)
        // Sweeps at 4,000 s and 10,000 s drop the ended minute window only.
        _ = limiter.hit(minute, key: "other", now: 4_000)
        _ = limiter.hit(minute, key: "other", now: 10_000)
        #expect(limiter.hit(daily, key: "k", now: 10_001) == 86_400 - 10_001)
        #expect(limiter.hit(minute, key: "k", now: 10_001) == nil)
    }
}
