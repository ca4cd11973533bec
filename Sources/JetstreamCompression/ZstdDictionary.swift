import CZstd

/// A structured zstd dictionary (RFC 8878 §5), digested once for
/// compression and for decompression. Both digests are read-only after
/// they are made, so one dictionary serves every connection at once.
public final class ZstdDictionary: @unchecked Sendable {
    /// The dictionary's ID, which every frame compressed with it carries.
    public let id: UInt32
    /// The dictionary's bytes.
    public let bytes: [UInt8]
    let compression: OpaquePointer
    let decompression: OpaquePointer

    /// The magic number that opens a structured dictionary.
    static let magic: UInt32 = 0xEC30_A437

    /// Digests `bytes`, to compress at `level` (zstd's levels, 3 by
    /// default as in Jetstream's encoder).
    public init(_ bytes: [UInt8], level: Int32 = 3) throws(ZstdError) {
        guard bytes.count >= 8 else { throw .notADictionary("\(bytes.count) bytes is too short for a dictionary header") }
        func le32(_ at: Int) -> UInt32 { (0..<4).reduce(0) { $0 | UInt32(bytes[at + $1]) << (8 * $1) } }
        guard le32(0) == Self.magic else { throw .notADictionary("it does not start with the dictionary magic number") }
        guard le32(4) != 0 else { throw .notADictionary("dictionary ID 0 is reserved") }
        let digests = bytes.withUnsafeBytes { raw in
            (ZSTD_createCDict(raw.baseAddress, raw.count, level), ZSTD_createDDict(raw.baseAddress, raw.count))
        }
        guard let compression = digests.0, let decompression = digests.1 else {
            ZSTD_freeCDict(digests.0)
            ZSTD_freeDDict(digests.1)
            throw .notADictionary("zstd refused its contents")
        }
        self.id = le32(4)
        self.bytes = bytes
        self.compression = compression
        self.decompression = decompression
    }

    deinit {
        ZSTD_freeCDict(compression)
        ZSTD_freeDDict(decompression)
    }
}
