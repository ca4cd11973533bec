import Foundation

/// A message with a plain-text and an HTML body, rendered as RFC 5322 and
/// MIME (`multipart/alternative`, both parts UTF-8 quoted-printable), with
/// the headers receiving servers check: `Date`, `Message-ID`, `From`, `To`,
/// `Subject` (RFC 2047 encoded when it is not plain ASCII).
public struct MailMessage: Sendable, Equatable {
    public var from: MailAddress
    public var to: MailAddress
    public var subject: String
    public var text: String
    public var html: String?
    public var date: Date
    /// The `Message-ID` without its angle brackets: kept with the message
    /// in the outbox, so a retried delivery carries the same one and a
    /// receiver can tell a repeat.
    public var messageID: String

    public init(from: MailAddress, to: MailAddress, subject: String, text: String, html: String? = nil, date: Date = Date(), messageID: String) {
        self.from = from
        self.to = to
        self.subject = subject
        self.text = text
        self.html = html
        self.date = date
        self.messageID = messageID
    }

    /// A new random `Message-ID` at `domain` (128 random bits).
    public static func newMessageID(domain: String) -> String {
        var rng = SystemRandomNumberGenerator()
        let random = (0..<16).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &rng)) }.joined()
        return "\(random)@\(domain)"
    }

    /// The message as sent after `DATA` (CRLF line ends, before dot-stuffing).
    public func rendered() -> [UInt8] {
        var headers = [
            "Date: \(MailHeaders.date(date))",
            "From: \(from.header)",
            "To: \(to.header)",
            "Subject: \(MailHeaders.encodedText(subject))",
            "Message-ID: <\(messageID)>",
            "MIME-Version: 1.0",
        ]
        var body: String
        if let html {
            let boundary = "=_pds_" + messageID.prefix(while: { $0 != "@" })
            headers.append("Content-Type: multipart/alternative; boundary=\"\(boundary)\"")
            body = "This is a message in MIME format.\r\n"
            for (type, content) in [("text/plain", text), ("text/html", html)] {
                body += "\r\n--\(boundary)\r\n"
                body += "Content-Type: \(type); charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
                body += QuotedPrintable.encode(content)
            }
            body += "\r\n--\(boundary)--\r\n"
        } else {
            headers.append("Content-Type: text/plain; charset=utf-8")
            headers.append("Content-Transfer-Encoding: quoted-printable")
            body = QuotedPrintable.encode(text) + "\r\n"
        }
        return Array((headers.joined(separator: "\r\n") + "\r\n\r\n" + body).utf8)
    }
}

/// An email address with an optional display name.
public struct MailAddress: Sendable, Equatable, Codable {
    public let address: String
    public let name: String?

    /// - Throws: ``MailAddress/Invalid`` for anything but `local@domain`
    ///   without white space, control characters or angle brackets (which
    ///   could smuggle extra headers or SMTP commands).
    public init(_ address: String, name: String? = nil) throws {
        guard Self.isValid(address) else { throw Invalid(address: address) }
        self.address = address
        self.name = name.map { MailHeaders.singleLine($0) }.flatMap { $0.isEmpty ? nil : $0 }
    }

    /// Parses `Name <local@domain>` or a bare address.
    public init(parsing text: String) throws {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if trimmed.hasSuffix(">"), let open = trimmed.lastIndex(of: "<") {
            let name = trimmed[..<open].trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
            try self.init(String(trimmed[trimmed.index(after: open)..<trimmed.index(before: trimmed.endIndex)]), name: name)
        } else {
            try self.init(trimmed)
        }
    }

    /// A syntactic check, not RFC 5322's whole grammar: one `@`, a
    /// non-empty local part and a dotted domain, printable ASCII or UTF-8
    /// letters, at most 254 bytes.
    public static func isValid(_ address: String) -> Bool {
        guard address.utf8.count <= 254, let at = address.lastIndex(of: "@") else { return false }
        let local = address[..<at]
        let domain = address[address.index(after: at)...]
        guard !local.isEmpty, local.utf8.count <= 64, domain.contains("."), !domain.hasPrefix("."), !domain.hasSuffix(".") else {
            return false
        }
        let forbidden = CharacterSet.whitespacesAndNewlines.union(.controlCharacters).union(CharacterSet(charactersIn: "<>()[],;:\\\"@"))
        return local.unicodeScalars.allSatisfy { !forbidden.contains($0) }
            && domain.unicodeScalars.allSatisfy { !forbidden.contains($0) }
    }

    /// The address as a header value: the name as a quoted string
    /// (`"` and `\` escaped), or RFC 2047 encoded words when it is not
    /// ASCII, so a comma or angle bracket in it cannot make a second
    /// address.
    var header: String {
        guard let name else { return address }
        if name.unicodeScalars.allSatisfy({ $0.isASCII }) {
            let escaped = name.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            return "\"\(escaped)\" <\(address)>"
        }
        return MailHeaders.encodedText(name) + " <\(address)>"
    }

    /// An address that cannot be used.
    public struct Invalid: Error, CustomStringConvertible {
        public let address: String
        public var description: String { "'\(address)' is not an email address" }
    }
}

/// Header values: the date format and RFC 2047 encoded words.
enum MailHeaders {
    /// RFC 5322 §3.3: `Mon, 07 Dec 2026 15:04:33 +0000`.
    static func date(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss '+0000'"
        return formatter.string(from: date)
    }

    /// Line breaks and other control characters become spaces: a header
    /// value that kept one could start a header of its own.
    static func singleLine(_ text: String) -> String {
        String(String.UnicodeScalarView(text.unicodeScalars.map { CharacterSet.controlCharacters.contains($0) ? " " : $0 }))
            .trimmingCharacters(in: .whitespaces)
    }

    /// `text` as is when it is short printable ASCII, else as RFC 2047
    /// encoded words (`=?utf-8?B?…?=`) of at most 75 characters, folded
    /// onto continuation lines, never splitting a character.
    static func encodedText(_ raw: String) -> String {
        let text = singleLine(raw)
        if text.unicodeScalars.allSatisfy({ $0.isASCII }) && text.utf8.count <= 900 && !text.contains("=?") { return text }
        // 75 - len("=?utf-8?B?") - len("?=") = 63 base64 characters: 45 bytes.
        var words: [String] = []
        var chunk: [UInt8] = []
        for character in text {
            let bytes = Array(String(character).utf8)
            if chunk.count + bytes.count > 45 && !chunk.isEmpty {
                words.append("=?utf-8?B?\(Data(chunk).base64EncodedString())?=")
                chunk = []
            }
            chunk += bytes
        }
        if !chunk.isEmpty { words.append("=?utf-8?B?\(Data(chunk).base64EncodedString())?=") }
        return words.joined(separator: "\r\n ")
    }
}
