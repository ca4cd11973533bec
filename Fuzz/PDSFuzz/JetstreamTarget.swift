import FeedGen
import JetstreamCompression

extension FuzzTargets {
    /// The feed generator's limit on one Jetstream message (its default).
    static let jetstreamLimit = 256 * 1024
    static let jetstreamReader = JetstreamMessageReader(filter: CandidateFilter(), maxEventBytes: jetstreamLimit)
    static let jetstreamDecompressor = ZstdDecompressor(dictionary: JetstreamZstd.dictionary)

    /// The Jetstream ingest path of the feed generator: one message, plain
    /// or zstd-compressed with Jetstream's dictionary (the first input byte
    /// picks: even plain, odd compressed), through the size limit, the cheap
    /// filter, the parser and the cursor scan. The decompressor must keep
    /// its limit however much a frame claims or expands to.
    static let jetstream = FuzzTarget(
        name: "jetstream", summary: "Jetstream messages, plain and zstd, through the feed generator's reader",
        prepare: { _ = (jetstreamReader, jetstreamDecompressor) }
    ) { input in
        guard let mode = input.first else { return }
        var message = Array(input.dropFirst())
        if mode & 1 == 1 {
            guard let plain = try? jetstreamDecompressor.decompress(message, limit: jetstreamLimit) else { return }
            precondition(plain.count <= jetstreamLimit, "decompression went past its limit")
            message = plain
        }
        message.withUnsafeBytes { bytes in
            _ = jetstreamReader.read(bytes)
            _ = JetstreamMessageReader.timeMicroseconds(bytes)
        }
    }
}
