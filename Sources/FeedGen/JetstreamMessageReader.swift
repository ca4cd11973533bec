import Foundation

/// The ingest path of one Jetstream message: the size limit, the cheap
/// filter on the raw bytes, and only then parsing and the account check.
public struct JetstreamMessageReader: Sendable {
    let filter: CandidateFilter
    let maxEventBytes: Int

    public init(filter: CandidateFilter, maxEventBytes: Int) {
        self.filter = filter
        self.maxEventBytes = maxEventBytes
    }

    /// What became of a message.
    public enum Outcome: Sendable, Equatable {
        /// Dropped by the cheap filter (the cursor could not be read
        /// without parsing, so it is not advanced by this message).
        case skipped
        /// Parsed: the event to queue (nil when it does not matter), and
        /// the message's cursor.
        case parsed(IngestEvent?, cursor: Int64)
        /// Not usable: why.
        case refused(String)
    }

    /// Reads one message.
    public func read(_ bytes: UnsafeRawBufferPointer) -> Outcome {
        guard bytes.count <= maxEventBytes else {
            return .refused("event of \(bytes.count) bytes exceeds the limit of \(maxEventBytes) bytes")
        }
        let (candidate, mentions) = CandidateFilter.mayMatter(bytes)
        guard candidate else { return .skipped }
        let message: JetstreamEvent
        do {
            message = try JetstreamEvent(json: bytes)
        } catch {
            return .refused(error.message)
        }
        guard let event = message.event, filter.admits(event, mentionsAtrarium: mentions) else {
            return .parsed(nil, cursor: message.timeMicroseconds)
        }
        return .parsed(event, cursor: message.timeMicroseconds)
    }

    /// The `time_us` of a message, found without parsing the whole of it
    /// (for advancing the cursor past messages the filter drops).
    public static func timeMicroseconds(_ bytes: UnsafeRawBufferPointer) -> Int64? {
        let key: StaticString = "\"time_us\":"
        guard let found = ByteSearch.find(key, in: bytes) else { return nil }
        do {
            var offset = found + key.utf8CodeUnitCount
            while offset < bytes.count, bytes[offset] == UInt8(ascii: " ") { offset += 1 }
            var value: Int64 = 0
            var digits = 0
            while offset < bytes.count, bytes[offset] >= 0x30, bytes[offset] <= 0x39, digits < 18 {
                value = value * 10 + Int64(bytes[offset] - 0x30)
                offset += 1
                digits += 1
            }
            return digits > 0 ? value : nil
        }
    }
}
