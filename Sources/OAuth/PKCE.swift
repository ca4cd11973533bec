/// Proof Key for Code Exchange (RFC 7636) with the S256 method, the only
/// one the atproto profile allows (`plain` would send the secret itself
/// through the browser).
public enum PKCE {
    /// The method every authorization request must name.
    public static let method = "S256"

    /// Checks a `code_challenge` from an authorization request: the
    /// base64url of a SHA-256 digest, 43 characters.
    public static func validateChallenge(_ challenge: String?, method: String?) throws(OAuthError) {
        guard let challenge, !challenge.isEmpty else { throw .invalidRequest("code_challenge is required (PKCE)") }
        guard let method else { throw .invalidRequest("code_challenge_method is required and must be S256") }
        guard method == Self.method else { throw .invalidRequest("code_challenge_method must be S256, not \(method)") }
        guard challenge.utf8.count == 43, let digest = Base64URL.decode(challenge), digest.count == 32 else {
            throw .invalidRequest("code_challenge must be the base64url SHA-256 of the verifier (43 characters)")
        }
    }

    /// Whether `verifier` (43 to 128 unreserved characters) hashes to
    /// `challenge`.
    public static func verify(verifier: String?, challenge: String) throws(OAuthError) {
        guard let verifier else { throw .invalidGrant("code_verifier is required") }
        let unreserved = verifier.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || byte == 0x2D || byte == 0x2E || byte == 0x5F || byte == 0x7E
        }
        guard (43...128).contains(verifier.utf8.count), unreserved else {
            throw .invalidGrant("code_verifier must be 43 to 128 characters of A-Z a-z 0-9 - . _ ~")
        }
        guard Base64URL.sha256(verifier) == challenge else { throw .invalidGrant("code_verifier does not match the code_challenge") }
    }
}
