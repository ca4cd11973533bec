import CZstd
import Synchronization

/// Decompresses zstd messages compressed with a dictionary, refusing any
/// that would grow past a limit (a small message may claim, or expand to,
/// gigabytes). Safe to share: callers take turns with its working state.
public final class ZstdDecompressor: Sendable {
    public let dictionary: ZstdDictionary
    private let context: Mutex<ZstdContext>

    /// The largest window a frame may ask for (8 MiB; Jetstream's encoder
    /// uses 128 KiB), which bounds the working memory of one message.
    static let windowLogMax: Int32 = 23
    /// What `ZSTD_getFrameContentSize` answers for a frame that does not
    /// record its size, and for bytes that are not a frame header.
    static let contentSizeUnknown = UInt64.max
    static let contentSizeError = UInt64.max - 1

    public init(dictionary: ZstdDictionary) {
        // As with any Swift allocation, running out of memory here is fatal.
        guard let dctx = ZSTD_createDCtx() else { fatalError("zstd could not allocate a decompression context") }
        ZSTD_DCtx_setParameter(dctx, ZSTD_d_windowLogMax, Self.windowLogMax)
        self.dictionary = dictionary
        self.context = Mutex(ZstdContext(pointer: dctx, free: { ZSTD_freeDCtx($0) }))
    }

    /// The bytes of the zstd frame(s) in `input`, at most `limit` of them.
    public func decompress(_ input: [UInt8], limit: Int) throws(ZstdError) -> [UInt8] {
        let result: Result<[UInt8], ZstdError> = input.withUnsafeBytes { source in
            context.withLock { dctx in Self.decompress(source, limit: limit, dctx: dctx.pointer, dictionary: dictionary) }
        }
        return try result.get()
    }

    private static func decompress(
        _ source: UnsafeRawBufferPointer, limit: Int, dctx: OpaquePointer, dictionary: ZstdDictionary
    ) -> Result<[UInt8], ZstdError> {
        guard !source.isEmpty else { return .failure(.malformedFrame("the message is empty")) }
        let declared = ZSTD_getFrameContentSize(source.baseAddress, source.count)
        if declared == Self.contentSizeError { return .failure(.malformedFrame("it does not start with a zstd frame header")) }
        if declared != Self.contentSizeUnknown, declared > UInt64(limit) { return .failure(.tooLarge(limit: limit)) }
        let frameDictionary = ZSTD_getDictID_fromFrame(source.baseAddress, source.count)
        if frameDictionary != 0, frameDictionary != dictionary.id {
            return .failure(.otherDictionary(frame: frameDictionary, held: dictionary.id))
        }

        ZSTD_DCtx_reset(dctx, ZSTD_reset_session_only)
        ZSTD_DCtx_refDDict(dctx, dictionary.decompression)
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: min(limit + 1, declared == Self.contentSizeUnknown ? 64 * 1024 : Int(declared) + 1))
        var inBuffer = ZSTD_inBuffer(src: source.baseAddress, size: source.count, pos: 0)
        var remaining = 1
        while inBuffer.pos < inBuffer.size || remaining != 0 {
            let step = chunk.withUnsafeMutableBytes { out -> (Int, Int) in
                var outBuffer = ZSTD_outBuffer(dst: out.baseAddress, size: out.count, pos: 0)
                let hint = ZSTD_decompressStream(dctx, &outBuffer, &inBuffer)
                return (hint, outBuffer.pos)
            }
            if ZSTD_isError(step.0) != 0 { return .failure(.malformedFrame(String(cString: ZSTD_getErrorName(step.0)))) }
            output.append(contentsOf: chunk[..<step.1])
            if output.count > limit { return .failure(.tooLarge(limit: limit)) }
            remaining = step.0
            // Input used up while the frame still wants more: it is cut short.
            if inBuffer.pos == inBuffer.size, remaining != 0, step.1 < chunk.count {
                return .failure(.malformedFrame("the frame is truncated"))
            }
        }
        return .success(output)
    }
}
