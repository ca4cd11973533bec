/// Why signing in with someone's PDS, or acting for them, failed; the
/// message is shown to the person signing in.
public enum OAuthClientError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The handle or DID could not be resolved to a PDS.
    case unknownAccount(String)
    /// The PDS or its authorization server could not be reached or answered
    /// something unusable.
    case serverProblem(String)
    /// The authorization server refused (with its OAuth error and message).
    case refused(String, String)
    /// The sign-in was not one this server started, or has expired.
    case invalidCallback(String)
    /// The session's grant is gone (revoked or expired): sign in again.
    case sessionEnded

    public var description: String {
        switch self {
        case .unknownAccount(let message): return message
        case .serverProblem(let message): return message
        case .refused(let code, let message): return message.isEmpty ? "the authorization server refused: \(code)" : "\(message) (\(code))"
        case .invalidCallback(let message): return message
        case .sessionEnded: return "your sign-in has ended; sign in again"
        }
    }
}
