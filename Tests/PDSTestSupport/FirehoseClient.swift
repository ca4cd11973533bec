import ATProto
import Foundation
import HummingbirdWSClient
import Logging
import PDS
import Sequencer
import ServiceStorage

#if canImport(Glibc)
    import Glibc
#endif

/// One decoded `subscribeRepos` frame.
public struct FirehoseFrame: Sendable {
    public let header: DataMap
    public let body: DataMap
    public var seq: Int64? { body["seq"]?.intValue }
    public var type: String? { header["t"]?.stringValue }
    /// The error name of an error frame.
    public var error: String? { header["op"] == -1 ? body["error"]?.stringValue : nil }
}

/// A WebSocket consumer of `subscribeRepos`. A stalled one reads nothing
/// until ``resume()``.
public final class FirehoseClient: Sendable {
    public let frames: AsyncStream<FirehoseFrame>
    private let gate: AsyncStream<Void>.Continuation
    private let task: Task<Void, any Error>

    public init(port: Int, cursor: Int64? = nil, stalled: Bool = false) {
        let (frames, output) = AsyncStream.makeStream(of: FirehoseFrame.self)
        let (gateStream, gate) = AsyncStream.makeStream(of: Void.self)
        if !stalled { gate.finish() }
        self.frames = frames
        self.gate = gate
        var url = "ws://127.0.0.1:\(port)/xrpc/com.atproto.sync.subscribeRepos"
        if let cursor { url += "?cursor=\(cursor)" }
        var logger = Logger(label: "firehose-test")
        logger.logLevel = .warning
        task = Task { [logger] in
            defer { output.finish() }
            try await WebSocketClient.connect(url: url, configuration: .init(maxFrameSize: 16 << 20), logger: logger) {
                inbound, _, _ in
                for await _ in gateStream {}
                for try await message in inbound.messages(maxSize: 16 << 20) {
                    guard case .binary(let buffer) = message else { continue }
                    let (header, body) = try Frames.decode(Array(buffer.readableBytesView))
                    output.yield(FirehoseFrame(header: header, body: body))
                }
            }
        }
    }

    public func resume() { gate.finish() }
    public func close() { task.cancel() }

    /// Frames until `done` holds for those received (or the stream ends).
    public func collect(timeout: Duration = .seconds(30), until done: @escaping @Sendable ([FirehoseFrame]) -> Bool) async throws
        -> [FirehoseFrame]
    {
        try await collectElements(of: frames, timeout: timeout, until: done)
    }
}

/// The elements of `stream` until `done` holds for those received (or the
/// stream ends); an error when `timeout` passes first.
public func collectElements<Element: Sendable>(
    of stream: AsyncStream<Element>, timeout: Duration, until done: @escaping @Sendable ([Element]) -> Bool
) async throws -> [Element] {
    try await withThrowingTaskGroup(of: [Element]?.self) { group in
        group.addTask {
            var received: [Element] = []
            for await element in stream {
                received.append(element)
                if done(received) { break }
            }
            return received
        }
        group.addTask {
            try await Task.sleep(for: timeout)
            return nil
        }
        let first = try await group.next()!
        group.cancelAll()
        guard let first else { throw TestError("timed out waiting for \(Element.self) values") }
        return first
    }
}

/// A `subscribeRepos` consumer that reads nothing until asked, on a bare
/// socket with a tiny receive buffer, so that not reading really stalls it
/// at the TCP level (the NIO client and the kernel's autotuned buffers
/// would otherwise absorb many MB).
public final class StalledSocketConsumer: @unchecked Sendable {
    private let socket: RawWebSocket

    public init(port: Int) throws {
        socket = try RawWebSocket(port: port, path: "/xrpc/com.atproto.sync.subscribeRepos", receiveBuffer: 4096)
    }

    /// Reads (blocking) the upgrade response and then frames until a frame
    /// satisfies `last` or the server closes.
    public func readFrames(until last: (FirehoseFrame) -> Bool) throws -> [FirehoseFrame] {
        guard try socket.readHead().status == 101 else { throw TestError("no WebSocket upgrade") }
        var frames: [FirehoseFrame] = []
        while true {
            let frame: (opcode: UInt8, payload: [UInt8])
            do {
                frame = try socket.readFrame()
            } catch let error as TestError where error.description.contains("inside a frame") {
                throw TestError("\(error) after \(frames.count) frames")
            } catch {
                return frames  // the connection ended
            }
            if frame.opcode == 8 { return frames }  // close
            guard frame.opcode == 2 else { continue }  // pings
            let (header, body) = try Frames.decode(frame.payload)
            frames.append(FirehoseFrame(header: header, body: body))
            if last(frames[frames.count - 1]) { return frames }
        }
    }
}

extension TestServer {
    public func firehose(cursor: Int64? = nil, stalled: Bool = false, expectSubscribers: Int? = nil) async throws -> FirehoseClient {
        let before = services.firehose.connectionCount
        let client = FirehoseClient(port: port, cursor: cursor, stalled: stalled)
        // Wait until the server has subscribed it (so no live event is missed).
        let target = expectSubscribers ?? before + 1
        for _ in 0..<500 {
            if services.firehose.connectionCount >= target { return client }
            try await Task.sleep(for: .milliseconds(10))
        }
        throw TestError("the firehose subscription did not start")
    }

    public func latestSeq() async throws -> Int64 {
        try await services.storage.read { tx in try Sequencer.latestSeq(in: tx) }
    }
}
