import Foundation
import PDSTestSupport

#if canImport(Glibc)
    import Glibc
#endif

/// A WebSocket client on a bare socket that does nothing on its own (it
/// never answers pings), for checking the server's side of the protocol.
public final class RawWebSocket: @unchecked Sendable {
    private let fd: Int32
    private var buffer: [UInt8] = []

    /// - Parameter receiveBuffer: a small kernel receive buffer makes a
    ///   client that does not read really stall at the TCP level.
    public init(port: Int, path: String, receiveBuffer: Int32? = nil) throws {
        fd = try loopbackTCPSocket(port: port) { fd in
            if var size = receiveBuffer {
                setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
            }
            var timeout = timeval(tv_sec: 30, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        }
        let request = Array(
            ("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nUpgrade: websocket\r\n"
                + "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n").utf8)
        guard request.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }) == request.count else {
            throw TestError("send() failed")
        }
    }

    deinit { close(fd) }

    private func fill() throws {
        var chunk = [UInt8](repeating: 0, count: 65_536)
        let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        guard n > 0 else { throw TestError("the connection ended (or timed out)") }
        buffer += chunk[0..<n]
    }

    private func take(_ count: Int) throws -> [UInt8] {
        while buffer.count < count { try fill() }
        let out = Array(buffer[0..<count])
        buffer.removeFirst(count)
        return out
    }

    /// The HTTP response head: status, and for a refusal its body.
    public func readHead() throws -> (status: Int, body: String) {
        while buffer.firstRange(of: Array("\r\n\r\n".utf8)) == nil { try fill() }
        let end = buffer.firstRange(of: Array("\r\n\r\n".utf8))!
        let head = String(decoding: buffer[0..<end.lowerBound], as: UTF8.self)
        buffer.removeFirst(end.upperBound)
        let status = Int(head.split(separator: " ").dropFirst().first ?? "") ?? 0
        guard status != 101 else { return (status, "") }
        let length = head.split(separator: "\r\n").first { $0.lowercased().hasPrefix("content-length:") }
            .flatMap { Int($0.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) } ?? 0
        return (status, String(decoding: try take(length), as: UTF8.self))
    }

    /// The next frame: its opcode and payload.
    public func readFrame() throws -> (opcode: UInt8, payload: [UInt8]) {
        let start = try take(2)
        var length = Int(start[1] & 0x7f)
        if length == 126 { length = try take(2).reduce(0) { $0 << 8 | Int($1) } }
        if length == 127 { length = try take(8).reduce(0) { $0 << 8 | Int($1) } }
        do {
            return (start[0] & 0x0f, try take(length))
        } catch {
            throw TestError("the connection ended inside a frame of \(length) bytes")
        }
    }

    /// Frames until a close frame, which is included.
    public func readFramesUntilClose() throws -> [(opcode: UInt8, payload: [UInt8])] {
        var frames: [(opcode: UInt8, payload: [UInt8])] = []
        while true {
            frames.append(try readFrame())
            if frames[frames.count - 1].opcode == 8 { return frames }
        }
    }
}
