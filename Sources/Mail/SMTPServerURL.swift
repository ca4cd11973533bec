import Foundation

/// Where mail goes, from a URL of the reference PDS's form
/// (`PDS_EMAIL_SMTP_URL`): `smtp://user:pass@host:port` speaks plain SMTP
/// and upgrades with STARTTLS when the server offers it; `smtps://` starts
/// with TLS. The user and password are percent-decoded; the port defaults
/// to 587 (submission) and 465 (`smtps`), as nodemailer's do.
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

    public init(host: String, port: Int, security: Security, username: String? = nil, password: String? = nil) {
        self.host = host
        self.port = port
        self.security = security
        self.username = username
        self.password = password
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
    }

    /// Whether the host is this machine (a password may cross loopback
    /// unencrypted: nobody else can read it there).
    public var isLoopback: Bool {
        let lowered = host.lowercased()
        return lowered == "localhost" || lowered.hasPrefix("127.") || lowered == "::1"
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
