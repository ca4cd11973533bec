import CZstd
import Synchronization

/// Compresses messages with a dictionary, each into one zstd frame that
/// records its decompressed size and the dictionary's ID. Safe to share:
/// callers take turns with its working state.
public final class ZstdCompressor: Sendable {
    public let dictionary: ZstdDictionary
    private let context: Mutex<ZstdContext>

    public init(dictionary: ZstdDictionary) {
        // As with any Swift allocation, running out of memory here is fatal.
        guard let cctx = ZSTD_createCCtx() else { fatalError("zstd could not allocate a compression context") }
        self.dictionary = dictionary
        self.context = Mutex(ZstdContext(pointer: cctx, free: { ZSTD_freeCCtx($0) }))
    }

    /// One zstd frame holding `input`.
    public func compress(_ input: [UInt8]) -> [UInt8] {
        input.withUnsafeBytes { source in
            let bound = ZSTD_compressBound(source.count)
            return context.withLock { cctx in
                [UInt8](unsafeUninitializedCapacity: bound) { buffer, count in
                    let written = ZSTD_compress_usingCDict(
                        cctx.pointer, buffer.baseAddress, bound, source.baseAddress, source.count, dictionary.compression)
                    // With a bound-sized output and a valid dictionary digest
                    // zstd cannot fail; a failure here is a broken library.
                    precondition(ZSTD_isError(written) == 0, "zstd compression failed: \(String(cString: ZSTD_getErrorName(written)))")
                    count = written
                }
            }
        }
    }
}

/// A zstd working state (compression or decompression context), freed
/// with it. Not thread-safe by itself: its owner uses it only while
/// holding the lock around it.
final class ZstdContext: @unchecked Sendable {
    let pointer: OpaquePointer
    private let free: (OpaquePointer) -> Void

    init(pointer: OpaquePointer, free: @escaping (OpaquePointer) -> Void) {
        self.pointer = pointer
        self.free = free
    }

    deinit { free(pointer) }
}
