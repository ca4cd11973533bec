import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A DNS server double on a loopback UDP port: answers TXT queries from a
/// table, with compressed answer names; can first send a reply with a wrong
/// id, or set the truncated flag, to test the client's checks.
public final class FakeDNSServer: Sendable {
    public let port: UInt16
    private let fd: Int32
    public let records: Mutex<[String: [String]]>
    public let truncate = Mutex(false)
    public let sendWrongIDFirst = Mutex(false)
    public let queries = Mutex(0)

    public init(records: [String: [String]]) throws {
        self.records = Mutex(records)
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        precondition(bound == 0, "bind failed")
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        self.fd = fd
        self.port = UInt16(bigEndian: address.sin_port)
        let thread = Thread { [self] in self.serve() }
        thread.start()
    }

    public func stop() {
        shutdown(fd, Int32(SHUT_RDWR))
        close(fd)
    }

    private func serve() {
        var buffer = [UInt8](repeating: 0, count: 2048)
        while true {
            var peer = sockaddr_storage()
            var peerLength = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let count = buffer.withUnsafeMutableBytes { raw in
                withUnsafeMutablePointer(to: &peer) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(fd, raw.baseAddress, raw.count, 0, $0, &peerLength) }
                }
            }
            guard count > 12 else { return }
            queries.withLock { $0 += 1 }
            let query = Array(buffer[0..<count])
            // The question name.
            var labels: [String] = []
            var i = 12
            while query[i] != 0 {
                let n = Int(query[i])
                labels.append(String(decoding: query[(i + 1)...(i + n)], as: UTF8.self))
                i += 1 + n
            }
            let question = Array(query[12...(i + 4)])
            let name = labels.joined(separator: ".").lowercased()
            let texts = records.withLock { $0[name] }
            var flags: UInt16 = 0x8180
            if texts == nil { flags |= 3 }
            if truncate.withLock({ $0 }) { flags |= 0x0200 }
            func reply(id0: UInt8, id1: UInt8) -> [UInt8] {
                var out: [UInt8] = [id0, id1, UInt8(flags >> 8), UInt8(flags & 0xff), 0, 1, 0, UInt8((texts ?? []).count + 1), 0, 0, 0, 0]
                out += question
                // An unrelated A record first, then the TXT records; names compressed.
                out += [0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 93, 184, 216, 34]
                for text in texts ?? [] {
                    let bytes = Array(text.utf8)
                    // Split long strings into 255-byte character-strings.
                    var rdata: [UInt8] = []
                    var start = 0
                    repeat {
                        let chunk = bytes[start..<min(bytes.count, start + 255)]
                        rdata.append(UInt8(chunk.count))
                        rdata += chunk
                        start += 255
                    } while start < bytes.count
                    out += [0xc0, 12, 0, 16, 0, 1, 0, 0, 0, 60, UInt8(rdata.count >> 8), UInt8(rdata.count & 0xff)]
                    out += rdata
                }
                return out
            }
            var replies: [[UInt8]] = []
            if sendWrongIDFirst.withLock({ $0 }) { replies.append(reply(id0: query[0] ^ 0xff, id1: query[1])) }
            replies.append(reply(id0: query[0], id1: query[1]))
            for message in replies {
                _ = message.withUnsafeBytes { raw in
                    withUnsafePointer(to: &peer) {
                        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(fd, raw.baseAddress, raw.count, 0, $0, peerLength) }
                    }
                }
            }
        }
    }
}
