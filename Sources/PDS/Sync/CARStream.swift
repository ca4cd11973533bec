import Foundation
import Hummingbird
import NIOCore
import Synchronization

/// Streams a CAR that storage writes synchronously (inside one read
/// transaction, so it is a consistent snapshot) to an HTTP response, a few
/// chunks at a time: the producer waits while the client is slow, and stops
/// when the client goes away.
enum CARStream {
    static func body(_ produce: @escaping @Sendable (_ sink: @escaping ([UInt8]) throws -> Void) throws -> Void) -> ResponseBody {
        ResponseBody { writer in
            let (stream, continuation) = AsyncThrowingStream<ByteBuffer, any Error>.makeStream()
            let credits = DispatchSemaphore(value: 4)
            let cancelled = Mutex(false)
            DispatchQueue.global().async {
                do {
                    try produce { chunk in
                        credits.wait()
                        if cancelled.withLock({ $0 }) { throw CancellationError() }
                        continuation.yield(ByteBuffer(bytes: chunk))
                    }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            do {
                for try await chunk in stream {
                    try await writer.write(chunk)
                    credits.signal()
                }
                try await writer.finish(nil)
            } catch {
                cancelled.withLock { $0 = true }
                credits.signal()
                throw error
            }
        }
    }
}
