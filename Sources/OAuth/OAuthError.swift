/// An OAuth error as RFC 6749 §5.2 (and RFC 9449, RFC 9126) name them: the
/// `error` code a client branches on, a description a developer can read,
/// and the HTTP status it is answered with.
public struct OAuthError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The `error` code (`invalid_request`, `invalid_grant`, …).
    public let code: String
    /// The `error_description`.
    public let message: String
    /// The HTTP status of the answer.
    public let status: Int

    public init(_ code: String, _ message: String, status: Int = 400) {
        self.code = code
        self.message = message
        self.status = status
    }

    public var description: String { "\(code): \(message)" }

    public static func invalidRequest(_ message: String) -> OAuthError { OAuthError("invalid_request", message) }
    public static func invalidClient(_ message: String) -> OAuthError { OAuthError("invalid_client", message, status: 401) }
    public static func invalidGrant(_ message: String) -> OAuthError { OAuthError("invalid_grant", message) }
    public static func invalidScope(_ message: String) -> OAuthError { OAuthError("invalid_scope", message) }
    public static func unauthorizedClient(_ message: String) -> OAuthError { OAuthError("unauthorized_client", message) }
    public static func unsupportedGrantType(_ message: String) -> OAuthError { OAuthError("unsupported_grant_type", message) }
    public static func invalidDPoPProof(_ message: String) -> OAuthError { OAuthError("invalid_dpop_proof", message) }
    public static func useDPoPNonce(_ message: String = "Authorization server requires nonce in DPoP proof") -> OAuthError {
        OAuthError("use_dpop_nonce", message)
    }
    public static func invalidClientMetadata(_ message: String) -> OAuthError { OAuthError("invalid_client_metadata", message) }
    public static func invalidRequestURI(_ message: String) -> OAuthError { OAuthError("invalid_request_uri", message) }
    public static func accessDenied(_ message: String) -> OAuthError { OAuthError("access_denied", message, status: 403) }
}
