import FeedGen
import PDSTestSupport
import Testing

@testable import Atrarium

/// `feedMix` as the dashboard API accepts it: integer percentages summing
/// to 100, or fractions summing to 1 converted to percentages that still
/// sum to 100; anything else is refused.
@Suite("Atrarium dashboard API: feedMix input")
struct DashboardFeedMixTests {
    func mix(_ json: String) throws -> FeedMix {
        try FeedMixInput.parse(try DashboardBody(bytes: Array(json.utf8)))
    }

    @Test func percentagesAndFractions() throws {
        #expect(try mix(#"{"own": 70, "parent": 20, "global": 10}"#) == FeedMix(own: 70, parent: 20, global: 10))
        #expect(try mix(#"{"own": 0.8, "parent": 0.15, "global": 0.05}"#) == FeedMix(own: 80, parent: 15, global: 5))
        #expect(try mix(#"{"own": 1}"#) == FeedMix(own: 100, parent: 0, global: 0))
        #expect(try mix(#"{"own": 100}"#) == FeedMix(own: 100, parent: 0, global: 0))
        let thirds = try mix(#"{"own": 0.3333333, "parent": 0.3333333, "global": 0.3333334}"#)
        #expect(thirds.own + thirds.parent + thirds.global == 100 && [thirds.own, thirds.parent, thirds.global].allSatisfy { $0 == 33 || $0 == 34 })
    }

    @Test func otherSumsAndValuesAreRefused() {
        for json in [
            #"{"own": 50, "parent": 40, "global": 0}"#, #"{"own": 0.5, "parent": 0.4}"#, #"{"own": 33.3, "parent": 33.3, "global": 33.4}"#,
            #"{"own": -10, "parent": 110}"#, #"{"own": "100"}"#, #"{"own": 100, "other": 0}"#, #"{}"#, #"{"own": 1e400}"#,
        ] {
            #expect(throws: DashboardError.self, "\(json)") { try mix(json) }
        }
    }
}
