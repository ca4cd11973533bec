import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A failure to set up a loopback socket in a test.
public struct LoopbackError: Error, CustomStringConvertible {
    public let description: String
}

/// Ports already handed out in this process: the kernel may offer a
/// released port again at once, and two servers of one test run must never
/// be given the same one.
private let handedOut = Mutex(Set<Int>())

/// A port of 127.0.0.1 nothing listens on now and not handed out before in
/// this process (asked of the kernel, then released: another process may
/// still take it before the caller binds it).
public func freePort() throws -> Int {
    for _ in 0..<100 {
        let port = try kernelFreePort()
        if handedOut.withLock({ $0.insert(port).inserted }) { return port }
    }
    throw LoopbackError(description: "no fresh port after 100 tries")
}

private func kernelFreePort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw LoopbackError(description: "socket() failed") }
    defer { close(fd) }
    var address = loopbackAddress(port: 0)
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
    }
    guard bound == 0 else { throw LoopbackError(description: "bind() failed") }
    _ = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// Waits until something accepts TCP connections on `port` of 127.0.0.1.
public func waitUntilListening(_ port: Int) async throws {
    for _ in 0..<200 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = loopbackAddress(port: port)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        close(fd)
        if connected == 0 { return }
        try await Task.sleep(for: .milliseconds(25))
    }
    throw LoopbackError(description: "nothing listens on port \(port)")
}

/// `127.0.0.1:port` as a socket address.
public func loopbackAddress(port: Int) -> sockaddr_in {
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = UInt16(port).bigEndian
    return address
}
