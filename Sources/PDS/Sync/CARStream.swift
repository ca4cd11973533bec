import Foundation
import Hummingbird
import NIOCore
import Synchronization

/// Streams a CAR that storage writes synchronously (inside one read
/// transaction, so it is a consistent snapshot) to an HTTP response, a few
/// chunks at a time: the producer waits while the client is slow, and stops
/// when the client goes away.
enum CARStream {
    /// Chunks the producer may run ahead of what the client has taken.
    static let credits = 4

    static func body(_ produce: @escaping @Sendable (_ sink: @escaping ([UInt8]) throws -> Void) throws -> Void) -> ResponseBody {
        ResponseBody { writer in
            let (stream, continuation) = AsyncThrowingStream<ByteBuffer, any Error>.makeStream()
            // The semaphore starts at 0 and is raised to the credits:
            // libdispatch traps when a semaphore is freed below its starting
            // value. A client that left mid-stream used to leave the count
            // there and so crashed the server.
            let credits = DispatchSemaphore(value: 0)
            for _ in 0..<Self.credits { credits.signal() }
            let cancelled = Mutex(false)
            // Whatever ends the response (done, the client gone, the task
            // cancelled) wakes a producer waiting for credit, and it stops:
            // it holds a reader connection until it returns.
            let stop: @Sendable () -> Void = {
                cancelled.withLock { $0 = true }
                credits.signal()
            }
            continuation.onTermination = { _ in stop() }
            // A thread of its own: the producer blocks (in SQLite, and while
            // the client is slow), and the global dispatch queue's threads
            // are the ones Swift's tasks run on (2 on this machine).
            Thread {
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
            }.start()
            defer { stop() }
            for try await chunk in stream {
                try await writer.write(chunk)
                credits.signal()
            }
            // A cancelled task's stream ends early without an error: never
            // finish such a response as if the CAR were complete.
            try Task.checkCancellation()
            try await writer.finish(nil)
        }
    }
}
