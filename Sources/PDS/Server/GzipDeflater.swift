import CZlib

/// A streaming gzip compressor (zlib's deflate with a gzip wrapper): feed
/// it chunks, then finish. One per response; not shared between tasks.
final class GzipDeflater {
    private let stream: UnsafeMutablePointer<z_stream>
    private var finished = false

    /// - Parameter level: 1 (fastest) to 9 (smallest); 6 is zlib's default.
    init(level: Int32 = 6) throws(GzipError) {
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        // windowBits 15 + 16 asks for the gzip header and trailer.
        let status = deflateInit2_(
            stream, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        guard status == Z_OK else {
            stream.deallocate()
            throw .initFailed(status)
        }
    }

    deinit {
        deflateEnd(stream)
        stream.deallocate()
    }

    /// Compresses `input`; returns what zlib has ready (often nothing for
    /// small inputs, which it keeps until more arrives or ``finish()``).
    func compress(_ input: some Collection<UInt8>) throws(GzipError) -> [UInt8] {
        try run(Array(input), flush: Z_NO_FLUSH)
    }

    /// The rest of the output, with the gzip trailer.
    func finish() throws(GzipError) -> [UInt8] {
        guard !finished else { return [] }
        finished = true
        return try run([], flush: Z_FINISH)
    }

    private func run(_ input: [UInt8], flush: Int32) throws(GzipError) -> [UInt8] {
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        var input = input
        let result: Int32 = input.withUnsafeMutableBufferPointer { inputBuffer in
            stream.pointee.next_in = inputBuffer.baseAddress
            stream.pointee.avail_in = UInt32(inputBuffer.count)
            while true {
                let status: Int32 = chunk.withUnsafeMutableBufferPointer { out in
                    stream.pointee.next_out = out.baseAddress
                    stream.pointee.avail_out = UInt32(out.count)
                    return deflate(stream, flush)
                }
                guard status == Z_OK || status == Z_STREAM_END || status == Z_BUF_ERROR else { return status }
                let produced = chunk.count - Int(stream.pointee.avail_out)
                output.append(contentsOf: chunk[0..<produced])
                if status == Z_STREAM_END { return Z_OK }
                // More output may be pending only when the buffer filled up.
                if stream.pointee.avail_out != 0 && (flush != Z_FINISH || status == Z_BUF_ERROR) { return Z_OK }
            }
        }
        stream.pointee.next_in = nil
        guard result == Z_OK else { throw .deflateFailed(result) }
        return output
    }
}

/// zlib refused to compress.
enum GzipError: Error, Sendable {
    case initFailed(Int32)
    case deflateFailed(Int32)
}
