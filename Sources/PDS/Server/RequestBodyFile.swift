import Crypto
import Foundation
import NIOCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A request body received into a temporary file: streamed chunk by chunk
/// (never held in memory whole), hashed with SHA-256 on the way, and refused
/// as soon as it is over its size limit.
struct RequestBodyFile {
    /// The temporary file; the caller moves it away or calls ``remove()``.
    let url: URL
    /// Bytes received.
    let size: Int
    /// SHA-256 of the bytes.
    let digest: [UInt8]
    /// The first bytes (up to ``headLength``), for sniffing the content type.
    let head: [UInt8]

    static let headLength = 512

    /// Deletes the temporary file (if still there).
    func remove() {
        unlink(url.path)
    }

    /// The error for a body over `limit` bytes.
    static func tooLarge(_ limit: Int) -> XRPCError {
        XRPCError(.contentTooLarge, "PayloadTooLarge", "request entity too large: the limit is \(limit) bytes")
    }

    /// Streams the request body of `call` into a new file in `directory`.
    /// Throws 413 `PayloadTooLarge` when `Content-Length` announces more than
    /// `limit` bytes or when more than `limit` bytes arrive; the file is gone
    /// when this throws.
    static func receive(_ call: XRPCCall, limit: Int, into directory: URL) async throws -> RequestBodyFile {
        let declared = call.request.headers[.contentLength].flatMap(Int.init)
        if let declared, declared > limit {
            throw tooLarge(limit)
        }
        let url = directory.appendingPathComponent("upload-\(UUID().uuidString)", isDirectory: false)
        let fd = open(url.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw BlobStoreError.io("cannot create a temporary file", errno) }
        var closed = false
        do {
            defer { if !closed { close(fd) } }
            var hasher = SHA256()
            var size = 0
            var head: [UInt8] = []
            for try await chunk in call.request.body {
                size += chunk.readableBytes
                guard size <= limit else { throw tooLarge(limit) }
                try chunk.withUnsafeReadableBytes { bytes in
                    hasher.update(bufferPointer: bytes)
                    if head.count < headLength { head += bytes.prefix(headLength - head.count) }
                    try writeAll(fd, bytes)
                }
            }
            // A connection closed mid-body ends the stream early, as if the
            // body were complete: a short body is refused, not stored.
            if let declared, size != declared {
                throw XRPCError.invalidRequest("the request body ended after \(size) of its \(declared) bytes")
            }
            guard fsync(fd) == 0 else { throw BlobStoreError.io("cannot write a temporary file", errno) }
            closed = true
            guard close(fd) == 0 else { throw BlobStoreError.io("cannot write a temporary file", errno) }
            return RequestBodyFile(url: url, size: size, digest: Array(hasher.finalize()), head: head)
        } catch {
            unlink(url.path)
            throw error
        }
    }

    private static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) throws {
        guard var base = bytes.baseAddress else { return }
        var left = bytes.count
        while left > 0 {
            let n = write(fd, base, left)
            if n < 0 {
                if errno == EINTR { continue }
                throw BlobStoreError.io("cannot write a temporary file", errno)
            }
            left -= n
            base += n
        }
    }
}
