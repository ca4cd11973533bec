import Foundation
import PDSTestSupport

#if canImport(Glibc)
    import Glibc
#endif

/// An HTTP client on a bare socket that sends exactly the bytes it is
/// given, as slowly or as badly as a test wants, and reports what came
/// back and when the server closed.
public final class RawHTTPConnection: @unchecked Sendable {
    private let fd: Int32

    public init(port: Int) throws {
        fd = try loopbackTCPSocket(port: port)
    }

    deinit { close(fd) }

    /// Sends bytes; false when the server has closed the connection.
    @discardableResult
    public func send(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) } == bytes.count
    }

    @discardableResult
    public func send(_ text: String) -> Bool { send(Array(text.utf8)) }

    /// What the server sent until it closed, or until `timeout` passed
    /// (`closed` false), and how long that took. The socket is waited on
    /// by a thread outside Swift's cooperative pool: on 2 cores a blocked
    /// pool thread would stall the server under test.
    public func readUntilClosed(timeout: Double) async -> (text: String, closed: Bool, seconds: Double) {
        await offThePool { self.blockingReadUntilClosed(timeout: timeout) }
    }

    /// One response to a request that was sent whole: read up to the end
    /// of its head and `Content-Length` bytes of body.
    public func readResponse(timeout: Double = 10) async -> String? {
        await offThePool { self.blockingReadResponse(timeout: timeout) }
    }

    private func offThePool<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            Thread.detachNewThread { continuation.resume(returning: work()) }
        }
    }

    private func blockingReadUntilClosed(timeout: Double) -> (text: String, closed: Bool, seconds: Double) {
        let start = Date()
        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let left = timeout - Date().timeIntervalSince(start)
            guard left > 0 else { return (String(decoding: received, as: UTF8.self), false, timeout) }
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, Int32(left * 1000)) > 0 else { continue }
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { return (String(decoding: received, as: UTF8.self), true, Date().timeIntervalSince(start)) }
            received += chunk[0..<n]
        }
    }

    private func blockingReadResponse(timeout: Double) -> String? {
        let start = Date()
        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while Date().timeIntervalSince(start) < timeout {
            if let end = received.firstRange(of: Array("\r\n\r\n".utf8)) {
                let head = String(decoding: received[0..<end.lowerBound], as: UTF8.self)
                let length = head.split(separator: "\r\n").first { $0.lowercased().hasPrefix("content-length:") }
                    .flatMap { Int($0.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) } ?? 0
                if received.count - end.upperBound >= length { return String(decoding: received, as: UTF8.self) }
            }
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, 100) > 0 else { continue }
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { return nil }
            received += chunk[0..<n]
        }
        return nil
    }
}

/// A TCP socket connected to `port` on 127.0.0.1; `configure` sets its
/// options before it connects.
public func loopbackTCPSocket(port: Int, configure: (Int32) -> Void = { _ in }) throws -> Int32 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw TestError("socket() failed") }
    configure(fd)
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = UInt16(port).bigEndian
    let connected = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard connected == 0 else {
        close(fd)
        throw TestError("connect() failed")
    }
    return fd
}
