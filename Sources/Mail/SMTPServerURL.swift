import Foundation

/// Where mail goes, from a URL of the reference PDS's form
/// (`PDS_EMAIL_SMTP_URL`): `smtp://user:pass@host:port` speaks plain SMTP
/// and upgrades with STARTTLS when the server offers it; `smtps://` starts
/// with TLS. The user and password are percent-decoded; the port defaults
/// to 587 (submission) and 465 (`smtps`), as nodemailer's do. Unlike
/// nodemailer, STARTTLS is required of any server not on this machine
/// (``requiresTLS``) unless the URL ends in `?tls=optional`.
public struct SMTPServerURL: Sendable, Equatable, CustomStringConvertible {
    /// How the connection is encrypted.
    public enum Security: Sendable, Equatable {
        /// Plain, then STARTTLS when the server's EHLO offers it.
        case startTLSWhenOffered
        /// TLS from the first byte.
        case implicitTLS
    }

    public let host: String
    public let port: Int
    public let security: Security
    public let username: String?
    public let password: String?
    /// `?tls=optional`: send in the clear when the server offers no STARTTLS.
    public let tlsOptional: Bool

    public init(host: String, port: Int, security: Security, username: String? = nil, password: String? = nil, tlsOptional: Bool = false) {
        self.host = host
        self.port = port
        self.security = security
        self.username = username
        self.password = password
        self.tlsOptional = tlsOptional
    }

    /// Parses `smtp://` and `smtps://` URLs.
    /// - Throws: ``SMTPServerURL/Invalid`` naming what is wrong.
    public init(parsing string: String) throws {
        guard let components = URLComponents(string: string.trimmingCharacters(in: .whitespaces)),
            let scheme = components.scheme?.lowercased()
        else { throw Invalid(reason: "not a URL") }
        switch scheme {
        case "smtp": security = .startTLSWhenOffered
        case "smtps": security = .implicitTLS
        default: throw Invalid(reason: "the scheme must be smtp or smtps, not \(scheme)")
        }
        guard let host = components.host, !host.isEmpty else { throw Invalid(reason: "no host") }
        self.host = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        port = components.port ?? (security == .implicitTLS ? 465 : 587)
        guard (1...65535).contains(port) else { throw Invalid(reason: "port \(port) is out of range") }
        username = components.percentEncodedUser.flatMap { $0.removingPercentEncoding }.flatMap { $0.isEmpty ? nil : $0 }
        password = components.percentEncodedPassword.flatMap { $0.removingPercentEncoding }
        guard components.path.isEmpty || components.path == "/" else { throw Invalid(reason: "a path is not allowed") }
        var tlsOptional = false
        for item in components.queryItems ?? [] {
            guard item.name == "tls", item.value == "optional" || item.value == "required" else {
                throw Invalid(reason: "unknown option \(item.name)=\(item.value ?? ""); only tls=optional or tls=required")
            }
            tlsOptional = item.value == "optional"
        }
        self.tlsOptional = tlsOptional
    }

    /// Whether the host is this machine: `localhost`, or an address of
    /// 127.0.0.0/8 or ::1 (not a name that merely starts with `127.`).
    public var isLoopback: Bool {
        let lowered = host.lowercased()
        if lowered == "localhost" { return true }
        var v4 = in_addr()
        if inet_pton(AF_INET, lowered, &v4) == 1 { return UInt32(bigEndian: v4.s_addr) >> 24 == 127 }
        var v6 = in6_addr()
        return inet_pton(AF_INET6, lowered, &v6) == 1 && isIPv6Loopback(v6)
    }

    private func isIPv6Loopback(_ address: in6_addr) -> Bool {
        withUnsafeBytes(of: address) { bytes in bytes.prefix(15).allSatisfy { $0 == 0 } && bytes[15] == 1 }
    }

    /// Whether a plain `smtp://` connection must be upgraded with STARTTLS
    /// before anything is sent: always but to this machine, where nobody
    /// else can read the traffic, unless the URL says `?tls=optional`
    /// (a relay on a private network without TLS).
    public var requiresTLS: Bool {
        security == .startTLSWhenOffered && !isLoopback && !tlsOptional
    }

    /// The URL without its password, for logs.
    public var description: String {
        let scheme = security == .implicitTLS ? "smtps" : "smtp"
        let user = username.map { "\($0)@" } ?? ""
        return "\(scheme)://\(user)\(host.contains(":") ? "[\(host)]" : host):\(port)"
    }

    /// A URL this type does not accept.
    public struct Invalid: Error, CustomStringConvertible {
        public let reason: String
        public var description: String { "invalid SMTP URL: \(reason)" }
    }
}
