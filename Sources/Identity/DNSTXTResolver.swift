import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A minimal DNS client for TXT records (RFC 1035 over UDP): one question,
/// recursion desired, answers matched by id, truncated answers treated as a
/// failure, compressed names followed. It runs on a Dispatch thread with a
/// non-blocking socket and a deadline, never on the cooperative pool.
public struct DNSTXTResolver: Sendable {
    /// The nameserver's address (IPv4 or IPv6 literal) and port.
    public let server: String
    public let port: UInt16
    public let timeout: Duration

    public init(server: String, port: UInt16 = 53, timeout: Duration = .seconds(3)) {
        self.server = server
        self.port = port
        self.timeout = timeout
    }

    /// The first `nameserver` of `/etc/resolv.conf`, or nil.
    public static func systemNameserver(resolvConf: String = "/etc/resolv.conf") -> String? {
        guard let text = try? String(contentsOfFile: resolvConf, encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") {
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            if fields.count >= 2, fields[0] == "nameserver" {
                let address = String(fields[1].split(separator: "%").first ?? fields[1])
                if IPAddress(address) != nil { return address }
            }
        }
        return nil
    }

    /// The TXT records of `name` (each record's strings joined); empty when
    /// the name does not exist or has none.
    public func txt(_ name: String) async throws(IdentityError) -> [String] {
        let query = try Self.query(id: UInt16.random(in: 0...UInt16.max), name: name)
        let server = self.server, port = self.port
        let millis = Int32(clamping: Int64(timeout / .milliseconds(1)))
        let result: Result<[String], IdentityError> = await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(returning: Result(catching: { () throws(IdentityError) -> [String] in
                    let reply = try Self.exchange(query.bytes, id: query.id, server: server, port: port, timeoutMillis: millis)
                    return try Self.parseTXT(reply, id: query.id)
                }))
            }
        }
        return try result.get()
    }

    // MARK: - Wire format

    /// The query message for a TXT record of `name`.
    static func query(id: UInt16, name: String) throws(IdentityError) -> (id: UInt16, bytes: [UInt8]) {
        var bytes: [UInt8] = [UInt8(id >> 8), UInt8(id & 0xff), 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]
        let trimmed = name.hasSuffix(".") ? String(name.dropLast()) : name
        for label in trimmed.split(separator: ".", omittingEmptySubsequences: false) {
            let utf8 = Array(label.utf8)
            guard (1...63).contains(utf8.count) else { throw .dns("invalid name \(name)") }
            bytes.append(UInt8(utf8.count))
            bytes += utf8
        }
        bytes += [0, 0, 16, 0, 1]  // root, QTYPE TXT, QCLASS IN
        guard bytes.count <= 512 else { throw .dns("name too long: \(name)") }
        return (id, bytes)
    }

    /// The TXT strings of a reply to query `id`.
    static func parseTXT(_ message: [UInt8], id: UInt16) throws(IdentityError) -> [String] {
        guard message.count >= 12 else { throw .dns("short reply") }
        guard UInt16(message[0]) << 8 | UInt16(message[1]) == id else { throw .dns("reply id does not match the query") }
        let flags = UInt16(message[2]) << 8 | UInt16(message[3])
        guard flags & 0x8000 != 0 else { throw .dns("not a reply") }
        guard flags & 0x0200 == 0 else { throw .dns("the reply was truncated") }
        switch flags & 0x000f {
        case 0: break
        case 3: return []  // NXDOMAIN
        case let code: throw .dns("the server answered with rcode \(code)")
        }
        let questions = Int(message[4]) << 8 | Int(message[5])
        let answers = Int(message[6]) << 8 | Int(message[7])
        var offset = 12
        for _ in 0..<questions {
            offset = try skipName(message, at: offset) + 4
        }
        var records: [String] = []
        for _ in 0..<answers {
            offset = try skipName(message, at: offset)
            guard offset + 10 <= message.count else { throw .dns("answer cut short") }
            let type = Int(message[offset]) << 8 | Int(message[offset + 1])
            let length = Int(message[offset + 8]) << 8 | Int(message[offset + 9])
            offset += 10
            guard offset + length <= message.count else { throw .dns("answer data cut short") }
            if type == 16 {
                var text: [UInt8] = []
                var i = offset
                while i < offset + length {
                    let n = Int(message[i])
                    guard i + 1 + n <= offset + length else { throw .dns("TXT string cut short") }
                    text += message[(i + 1)..<(i + 1 + n)]
                    i += 1 + n
                }
                records.append(String(decoding: text, as: UTF8.self))
            }
            offset += length
        }
        return records
    }

    /// The offset after a (possibly compressed) name starting at `offset`.
    static func skipName(_ message: [UInt8], at start: Int) throws(IdentityError) -> Int {
        var offset = start
        while true {
            guard offset < message.count else { throw .dns("name runs past the message") }
            let length = message[offset]
            if length & 0xc0 == 0xc0 {
                guard offset + 2 <= message.count else { throw .dns("pointer cut short") }
                return offset + 2  // a pointer ends the name
            }
            guard length & 0xc0 == 0 else { throw .dns("bad label type") }
            if length == 0 { return offset + 1 }
            offset += 1 + Int(length)
        }
    }

    // MARK: - Socket

    /// Sends `query` and waits for the reply with the same id (others are
    /// ignored) until the deadline.
    static func exchange(_ query: [UInt8], id: UInt16, server: String, port: UInt16, timeoutMillis: Int32) throws(IdentityError)
        -> [UInt8]
    {
        guard let address = IPAddress(server) else { throw .dns("nameserver \(server) is not an IP address") }
        let family: Int32
        switch address {
        case .v4: family = AF_INET
        case .v6: family = AF_INET6
        }
        #if canImport(Glibc)
            let fd = socket(family, Int32(SOCK_DGRAM.rawValue), 0)
        #else
            let fd = socket(family, SOCK_DGRAM, 0)
        #endif
        guard fd >= 0 else { throw .dns("socket() failed") }
        defer { close(fd) }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        let connected: Int32
        switch address {
        case .v4(let bytes):
            var sa = sockaddr_in()
            sa.sin_family = sa_family_t(AF_INET)
            sa.sin_port = port.bigEndian
            withUnsafeMutableBytes(of: &sa.sin_addr) { $0.copyBytes(from: bytes) }
            connected = withUnsafePointer(to: &sa) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
        case .v6(let bytes):
            var sa = sockaddr_in6()
            sa.sin6_family = sa_family_t(AF_INET6)
            sa.sin6_port = port.bigEndian
            withUnsafeMutableBytes(of: &sa.sin6_addr) { $0.copyBytes(from: bytes) }
            connected = withUnsafePointer(to: &sa) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
            }
        }
        guard connected == 0 else { throw .dns("cannot reach nameserver \(server)") }
        guard query.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, 0) }) == query.count else {
            throw .dns("cannot send the query to \(server)")
        }
        let deadline = ContinuousClock.now + .milliseconds(Int64(timeoutMillis))
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let left = deadline - ContinuousClock.now
            guard left > .zero else { throw .dns("no answer from \(server) in time") }
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&pfd, 1, Int32(max(1, left / .milliseconds(1))))
            if ready < 0 && errno == EINTR { continue }
            guard ready > 0 else { continue }
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count < 0 {
                if errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR { continue }
                throw .dns("no answer from \(server) (connection refused)")
            }
            guard count >= 2, UInt16(buffer[0]) << 8 | UInt16(buffer[1]) == id else { continue }
            return Array(buffer[0..<count])
        }
    }
}
