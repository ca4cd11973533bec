import NIOCore
import NIOSSL

/// One reply of an SMTP server (RFC 5321 §4.2): a three-digit code and the
/// text of each of its lines (`250-first`, `250 last`).
public struct SMTPReply: Sendable, Equatable, CustomStringConvertible {
    public let code: Int
    public let lines: [String]

    public init(code: Int, lines: [String]) {
        self.code = code
        self.lines = lines
    }

    /// 2xx and 3xx: the command was accepted (or the server waits for more).
    public var isPositive: Bool { code < 400 }
    /// 4xx: refused for now; the same command may work later.
    public var isTransient: Bool { (400..<500).contains(code) }

    public var description: String { "\(code) \(lines.joined(separator: " / "))" }
}

/// Splits the bytes an SMTP server sends into replies. A reply line is at
/// most 4,096 bytes and a reply at most 128 lines: the RFC's limits are 512
/// and "a few", and a server that sends more is broken or hostile, not
/// something to buffer without end.
struct SMTPReplyDecoder: ByteToMessageDecoder {
    typealias InboundOut = SMTPReply

    static let maxLineBytes = 4096
    static let maxLines = 128

    private var pendingLines: [String] = []
    private var pendingCode: Int?
    /// The TLS upgrade to make at the reply to STARTTLS.
    let upgrade: STARTTLSUpgrade

    init(upgrade: STARTTLSUpgrade) {
        self.upgrade = upgrade
    }

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        let view = buffer.readableBytesView
        guard let newline = view.firstIndex(of: UInt8(ascii: "\n")) else {
            if view.count > Self.maxLineBytes { throw SMTPError.malformedReply("a reply line longer than \(Self.maxLineBytes) bytes") }
            return .needMoreData
        }
        let length = view.distance(from: view.startIndex, to: newline) + 1
        guard length <= Self.maxLineBytes + 1, var bytes = buffer.readBytes(length: length) else {
            throw SMTPError.malformedReply("a reply line longer than \(Self.maxLineBytes) bytes")
        }
        while let last = bytes.last, last == UInt8(ascii: "\n") || last == UInt8(ascii: "\r") { bytes.removeLast() }
        if let reply = try take(String(decoding: bytes, as: UTF8.self)) {
            let upgraded = try upgrade.replied(reply, leftover: buffer.readableBytes, context: context)
            context.fireChannelRead(wrapInboundOut(reply))
            // The read's end now passes through the TLS handler, which
            // keeps it to itself while it has no plaintext; the async
            // channel hands reads over at a read's end, so say it here.
            if upgraded { context.fireChannelReadComplete() }
        }
        return .continue
    }

    mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        while try decode(context: context, buffer: &buffer) == .continue {}
        return .needMoreData
    }

    /// Adds one line; returns the reply it completes, if it is the last.
    mutating func take(_ line: String) throws -> SMTPReply? {
        let bytes = Array(line.utf8)
        guard bytes.count >= 3, bytes[0..<3].allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }),
            let code = Int(String(decoding: bytes[0..<3], as: UTF8.self)), (200..<600).contains(code)
        else { throw SMTPError.malformedReply(String(line.prefix(80))) }
        let separator = bytes.count > 3 ? bytes[3] : UInt8(ascii: " ")
        guard separator == UInt8(ascii: " ") || separator == UInt8(ascii: "-") else {
            throw SMTPError.malformedReply(String(line.prefix(80)))
        }
        if let pendingCode, pendingCode != code { throw SMTPError.malformedReply("a reply whose lines have different codes") }
        pendingCode = code
        pendingLines.append(bytes.count > 4 ? String(decoding: bytes[4...], as: UTF8.self) : "")
        if separator == UInt8(ascii: "-") {
            guard pendingLines.count < Self.maxLines else { throw SMTPError.malformedReply("a reply of more than \(Self.maxLines) lines") }
            return nil
        }
        defer {
            pendingLines = []
            pendingCode = nil
        }
        return SMTPReply(code: code, lines: pendingLines)
    }
}

/// STARTTLS's switch to TLS, made by the reply decoder on the event loop
/// at the very reply that accepts it: TLS is in the pipeline before another
/// byte is read, and bytes that came with the `220` (which a man in the
/// middle could have added, to be taken for replies sent over TLS) fail
/// the connection. Used on its channel's event loop only.
final class STARTTLSUpgrade {
    private var armed: (context: NIOSSLContext, serverHostname: String?)?

    /// The next reply answers STARTTLS.
    func arm(context: NIOSSLContext, serverHostname: String?) {
        armed = (context, serverHostname)
    }

    /// - Returns: whether TLS was put in place.
    func replied(_ reply: SMTPReply, leftover: Int, context: ChannelHandlerContext) throws -> Bool {
        guard let armed else { return false }
        self.armed = nil
        guard reply.code == 220 else { return false }
        guard leftover == 0 else { throw SMTPError.tls("the server sent more after agreeing to STARTTLS; refusing to read it as encrypted") }
        try context.pipeline.syncOperations.addHandler(
            NIOSSLClientHandler(context: armed.context, serverHostname: armed.serverHostname), position: .first)
        return true
    }
}
