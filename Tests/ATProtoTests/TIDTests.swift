import Foundation
import Synchronization
import TestSupport
import Testing

@testable import ATProto

/// A clock for tests: a settable number of microseconds.
@available(macOS 15.0, iOS 18.0, tvOS 18.0, watchOS 11.0, visionOS 2.0, *)
final class TestClock: Sendable {
    private let micros: Atomic<UInt64>

    init(_ start: UInt64) { micros = Atomic(start) }

    var now: UInt64 { micros.load(ordering: .relaxed) }

    func set(_ value: UInt64) { micros.store(value, ordering: .relaxed) }

}

@Suite("TID")
struct TIDTests {
    static let hour: UInt64 = 3_600_000_000
    static let start: UInt64 = 1_700_000_000_000_000  // 2023-11-14, in µs

    @Test func parseAndPrint() throws {
        for string in try Fixtures.lines("interop/syntax/tid_syntax_valid.txt") {
            #expect(try TID(string).string == string)
        }
        let zero = TID(timestampMicros: 0, clockID: 0)
        #expect(zero.string == "2222222222222" && zero.value == 0)
        let top = TID(timestampMicros: TID.maxTimestampMicros, clockID: TID.maxClockID)
        #expect(top.string == "bzzzzzzzzzzzz" && top.value == UInt64(Int64.max))
        #expect(TID(value: .max).string == "jzzzzzzzzzzzz")
        #expect(try TID("jzzzzzzzzzzzz").value == .max)

        let tid = TID(timestampMicros: Self.start, clockID: 0x2a5)
        #expect(tid.timestampMicros == Self.start && tid.clockID == 0x2a5)
        let parsed = try TID(tid.string)
        #expect(parsed == tid && parsed.timestampMicros == Self.start && parsed.clockID == 0x2a5)
        #expect(try TID("3jzfcijpj2z2a").timestampMicros == 1_688_137_381_887_007)

        var rng = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            let t = TID(timestampMicros: rng.next() >> 11, clockID: UInt16(rng.next() & 0x3ff))
            #expect(try TID(t.string) == t)
            #expect(t.string.first.map { "234567ab".contains($0) } == true)
        }
    }

    @Test func errors() {
        func reason(_ s: String) -> String? {
            do {
                _ = try TID(s)
                return nil
            } catch {
                return error.reason
            }
        }
        #expect(reason("3JZFCIJPJ2Z2A") == "a TID is lower case")
        #expect(reason("222") == "a TID is exactly 13 characters long")
        #expect(reason("3jzfcijpj2z21") == "a TID may only contain the characters 234567abcdefghijklmnopqrstuvwxyz")
        #expect(reason("kjzfcijpj2z2a") == "the first character of a TID must be one of 234567abcdefghij")
    }

    @Test func orderingMatchesStrings() {
        var rng = SystemRandomNumberGenerator()
        let tids = (0..<1000).map { _ in TID(value: rng.next()) }
        #expect(tids.sorted().map(\.string) == tids.map(\.string).sorted())
        #expect(TID(timestampMicros: 5, clockID: 1023) < TID(timestampMicros: 6, clockID: 0))
        #expect(TID(timestampMicros: 5, clockID: 1) < TID(timestampMicros: 5, clockID: 2))
    }

    @available(macOS 15.0, iOS 18.0, tvOS 18.0, watchOS 11.0, visionOS 2.0, *)
    @Test func generatorIsStrictlyMonotonic() {
        let generator = TIDGenerator()
        var last = generator.next()
        for _ in 0..<100_000 {
            let tid = generator.next()
            #expect(tid > last)
            #expect(tid.clockID == generator.clockID)
            if tid <= last { break }
            last = tid
        }
        let clockNow = TIDGenerator.systemClockMicros()
        // Near the wall clock: within a minute (100,000 calls can run ahead).
        #expect(last.timestampMicros > clockNow - 60_000_000 && last.timestampMicros < clockNow + 60_000_000)
    }

    @available(macOS 15.0, iOS 18.0, tvOS 18.0, watchOS 11.0, visionOS 2.0, *)
    @Test func stalledClock() {
        let clock = TestClock(Self.start)
        let generator = TIDGenerator(clockID: 9) { clock.now }
        let tids = (0..<1000).map { _ in generator.next() }
        for (i, tid) in tids.enumerated() {
            #expect(tid.timestampMicros == Self.start + UInt64(i) && tid.clockID == 9)
        }
        // Once the clock moves past, its time is used again.
        clock.set(Self.start + 5000)
        #expect(generator.next().timestampMicros == Self.start + 5000)
    }

    @available(macOS 15.0, iOS 18.0, tvOS 18.0, watchOS 11.0, visionOS 2.0, *)
    @Test func clockJumpsBackAnHour() {
        let clock = TestClock(Self.start)
        let generator = TIDGenerator { clock.now }
        var previous = generator.next()
        clock.set(Self.start - Self.hour)
        for _ in 0..<10_000 {
            let tid = generator.next()
            #expect(tid > previous)
            previous = tid
        }
        #expect(previous.timestampMicros == Self.start + 10_000)
        clock.set(Self.start + Self.hour)
        let caughtUp = generator.next()
        #expect(caughtUp > previous && caughtUp.timestampMicros == Self.start + Self.hour)
    }

    @available(macOS 15.0, iOS 18.0, tvOS 18.0, watchOS 11.0, visionOS 2.0, *)
    @Test func nextAfter() throws {
        let clock = TestClock(Self.start)
        let generator = TIDGenerator(clockID: 100) { clock.now }

        // A previous TID in the past: the clock decides.
        let old = TID(timestampMicros: Self.start - Self.hour, clockID: 5)
        let a = try generator.next(after: old)
        #expect(a.timestampMicros == Self.start && a > old)

        // A previous TID ahead of the clock (another server's rev): just past it.
        let ahead = TID(timestampMicros: Self.start + Self.hour, clockID: 500)
        let b = try generator.next(after: ahead)
        #expect(b > ahead && b > a)
        #expect(b.timestampMicros == Self.start + Self.hour + 1 && b.clockID == 100)
        // And next() stays above it.
        let c = generator.next()
        #expect(c > b)

        // Same timestamp, lower clock id: the same timestamp is enough.
        let sameLower = TID(timestampMicros: Self.start + 2 * Self.hour, clockID: 50)
        let d = try generator.next(after: sameLower)
        #expect(d > sameLower && d.timestampMicros == sameLower.timestampMicros)

        // A previous TID equal to the last one returned.
        let e = try generator.next(after: d)
        #expect(e > d)

        // Nothing is greater than the end of the range.
        let top = TID(timestampMicros: TID.maxTimestampMicros, clockID: TID.maxClockID)
        #expect(throws: TIDGenerator.ExhaustedError(previous: top)) { try generator.next(after: top) }
        #expect(throws: TIDGenerator.ExhaustedError.self) { try generator.next(after: TID(value: .max)) }
        // The failed calls did not disturb the generator.
        #expect(generator.next() > e)
    }

    @available(macOS 15.0, iOS 18.0, tvOS 18.0, watchOS 11.0, visionOS 2.0, *)
    @Test func concurrentUseHasNoDuplicates() async {
        let generator = TIDGenerator()
        let tasks = 32
        let perTask = 2000
        let all = await withTaskGroup(of: [TID].self) { group in
            for _ in 0..<tasks {
                group.addTask {
                    var mine: [TID] = []
                    mine.reserveCapacity(perTask)
                    for i in 0..<perTask {
                        mine.append(i % 10 == 0 ? try! generator.next(after: TID(value: 0)) : generator.next())
                    }
                    return mine
                }
            }
            var all: [TID] = []
            for await part in group {
                // Each task sees its own TIDs strictly increasing.
                #expect(zip(part, part.dropFirst()).allSatisfy { $0 < $1 })
                all += part
            }
            return all
        }
        #expect(all.count == tasks * perTask)
        #expect(Set(all).count == all.count)
        print("TID concurrency: \(all.count) TIDs from \(tasks) tasks, no duplicates")
    }
}
