/// Why a message was not delivered to the SMTP server, and whether trying
/// again later can help.
public enum SMTPError: Error, Sendable, CustomStringConvertible {
    /// The server could not be reached, or the connection broke.
    case connectionFailed(String)
    /// The server did not answer within the time allowed.
    case timedOut(String)
    /// The server refused a command (4xx: for now; 5xx: for good).
    case refused(command: String, reply: SMTPReply)
    /// The server sent something that is not an SMTP reply.
    case malformedReply(String)
    /// The connection to a host that is not on this machine could not be
    /// encrypted (the server offers no STARTTLS): neither mail nor a
    /// password is sent in the clear.
    case encryptionUnavailable(host: String)
    /// Credentials are configured, but the server offers neither AUTH PLAIN
    /// nor AUTH LOGIN.
    case noSupportedAuthentication(offered: String)
    /// The TLS handshake failed (an untrusted or mismatched certificate).
    case tls(String)

    /// Whether the same message can only fail again: a 5xx refusal or a
    /// configuration the server will not accept. Everything else is worth a
    /// later attempt.
    public var isPermanent: Bool {
        switch self {
        case .refused(_, let reply): return !reply.isTransient
        case .encryptionUnavailable, .noSupportedAuthentication: return true
        case .connectionFailed, .timedOut, .malformedReply, .tls: return false
        }
    }

    public var description: String {
        switch self {
        case .connectionFailed(let why): return "could not talk to the SMTP server: \(why)"
        case .timedOut(let what): return "the SMTP server did not answer \(what) in time"
        case .refused(let command, let reply): return "the SMTP server refused \(command): \(reply)"
        case .malformedReply(let what): return "the SMTP server sent an unreadable reply: \(what)"
        case .encryptionUnavailable(let host):
            return "\(host) offers no STARTTLS, so mail and the SMTP password would cross the network unencrypted; use smtps://, a server that offers STARTTLS, or ?tls=optional for a relay on a trusted network"
        case .noSupportedAuthentication(let offered):
            return "the SMTP server offers no authentication this client speaks (PLAIN, LOGIN); it offers: \(offered.isEmpty ? "none" : offered)"
        case .tls(let why): return "the TLS handshake with the SMTP server failed: \(why)"
        }
    }
}
