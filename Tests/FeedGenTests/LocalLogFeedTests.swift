import ATProto
import Sequencer
import Testing

@testable import FeedGen

/// The hand-over box between the sequencer hub and the local ingest.
@Suite("Local log feed")
struct LocalLogFeedTests {
    static func event(_ seq: Int64) -> SequencedEvent {
        SequencedEvent(seq: seq, did: DID(unchecked: "did:plc:alice0000000000000000000"), type: "#commit", event: [0xA0], sequencedAt: 1_790_000_000_000)
    }

    @Test func deliveriesAreTakenWholeAndInOrder() async {
        let feed = LocalLogFeed(limit: 10)
        feed.deliver([Self.event(1), Self.event(2)])
        feed.deliver([Self.event(3)])
        let first = await feed.take()
        #expect(first.events.map(\.seq) == [1, 2, 3] && !first.overflowed && !first.poked)
        // A waiting take is woken by the next delivery.
        let waiting = Task { await feed.take() }
        try? await Task.sleep(for: .milliseconds(50))
        feed.deliver([Self.event(4)])
        let second = await waiting.value
        #expect(second.events.map(\.seq) == [4])
    }

    @Test func pastTheLimitEventsAreDroppedAndTheOverflowSaid() async {
        let feed = LocalLogFeed(limit: 3)
        feed.deliver([Self.event(1), Self.event(2)])
        feed.deliver([Self.event(3), Self.event(4)])
        feed.deliver([Self.event(5)])  // ignored until the overflow is taken
        let taken = await feed.take()
        #expect(taken.overflowed && taken.events.isEmpty)
        feed.deliver([Self.event(6)])
        let next = await feed.take()
        #expect(!next.overflowed && next.events.map(\.seq) == [6])
    }

    @Test func aPokeWakesAWaitingTakeWithNothingNew() async {
        let feed = LocalLogFeed(limit: 3)
        let waiting = Task { await feed.take() }
        try? await Task.sleep(for: .milliseconds(50))
        feed.poke()
        let woken = await waiting.value
        #expect(woken.poked && woken.events.isEmpty)
    }
}
