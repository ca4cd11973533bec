import ATProto
import Foundation
import Synchronization

/// The first, cheap filter stage on the ingest path. A message passes when
/// its bytes contain a community hashtag prefix (`atrarium_`, `#atr_`, or a
/// facet tag `"atr_`) or an Atrarium collection name (`net.atrarium.`), or
/// when it is a delete, update or account event of an account the feed
/// generator has seen before (so deletes and takedowns of indexed posts
/// are never missed). Everything else (about 99% of the network) is
/// dropped before it is even parsed.
public final class CandidateFilter: Sendable {
    private let knownAccounts = Mutex<Set<DID>>([])

    public init() {}

    /// Remembers accounts whose later deletes and account events matter.
    public func remember<S: Sequence<DID>>(_ dids: S) {
        knownAccounts.withLock { $0.formUnion(dids) }
    }

    /// Whether the account was seen before.
    public func isKnown(_ did: DID) -> Bool {
        knownAccounts.withLock { $0.contains(did) }
    }

    /// The cheap test on a raw message.
    public static func mentionsAtrarium(_ bytes: UnsafeRawBufferPointer) -> Bool {
        // Every needle contains "atr": one quick scan rejects most messages.
        guard contains(bytes, "atr") else { return false }
        return contains(bytes, "atrarium_") || contains(bytes, "#atr_") || contains(bytes, "\"atr_") || contains(bytes, "net.atrarium.")
    }

    /// Whether a raw Jetstream message must be parsed: it mentions
    /// Atrarium, or it may delete or update something indexed (the
    /// account is checked once the message is parsed, in ``admits(_:mentionsAtrarium:)``).
    public static func mayMatter(_ bytes: UnsafeRawBufferPointer) -> (candidate: Bool, mentionsAtrarium: Bool) {
        if mentionsAtrarium(bytes) { return (true, true) }
        let other = contains(bytes, "\"delete\"") || contains(bytes, "\"update\"") || contains(bytes, "\"account\"")
        return (other, false)
    }

    /// Whether a `#commit` of the local log (its DAG-CBOR body) must be
    /// decoded: it mentions "atr" somewhere (every hashtag form and every
    /// Atrarium collection does; CBOR strings are raw UTF-8, so a facet tag
    /// `atr_…` has no quote before it and only this short needle is safe), or
    /// its account is known, so it may update or delete something indexed.
    public func mayMatter(commitBody bytes: UnsafeRawBufferPointer, did: DID) -> Bool {
        Self.contains(bytes, "atr") || isKnown(did)
    }

    /// The decision for a parsed event: whether it goes to the queue.
    /// Admitted record events make their account known.
    public func admits(_ event: IngestEvent, mentionsAtrarium: Bool) -> Bool {
        switch event {
        case .record(let change):
            if change.collection.string.hasPrefix("net.atrarium.") || mentionsAtrarium {
                remember([change.did])
                return true
            }
            return change.operation != .create && isKnown(change.did)
        case .account(let did, _, _):
            return isKnown(did)
        }
    }

    /// The decision for an event decoded from the local log, where there
    /// are no raw bytes: the record's text, facets and tags are checked.
    public func admits(_ event: IngestEvent) -> Bool {
        if case .record(let change) = event, let record = change.record {
            return admits(event, mentionsAtrarium: Self.recordMentionsAtrarium(record))
        }
        return admits(event, mentionsAtrarium: false)
    }

    /// The cheap test on a decoded post: its text, facet tags or tags
    /// contain a community hashtag prefix.
    static func recordMentionsAtrarium(_ record: DataValue) -> Bool {
        func check(_ s: String) -> Bool { s.contains("atrarium_") || s.contains("#atr_") || s.hasPrefix("atr_") }
        if let text = record["text"]?.stringValue, check(text) { return true }
        for facet in record["facets"]?.arrayValue ?? [] {
            for feature in facet["features"]?.arrayValue ?? [] {
                if let tag = feature["tag"]?.stringValue, check(tag) { return true }
            }
        }
        for tag in record["tags"]?.arrayValue ?? [] {
            if let tag = tag.stringValue, check(tag) { return true }
        }
        return false
    }

    private static func contains(_ haystack: UnsafeRawBufferPointer, _ needle: StaticString) -> Bool {
        ByteSearch.contains(needle, in: haystack)
    }
}
