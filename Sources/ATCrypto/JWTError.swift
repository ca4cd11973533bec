import Foundation

/// Why a JWT could not be signed, decoded or accepted.
public enum JWTError: Error, Equatable, Sendable, CustomStringConvertible, LocalizedError {
    /// Not a well-formed compact JWS (segment count, base64url, JSON, claim
    /// types, unsupported `crit`).
    case malformed(String)
    /// The header `alg` is not the algorithm of the verifying key (this is
    /// also how `alg: none` and unknown algorithms are refused).
    case algorithmMismatch(expected: String, found: String)
    /// The signature does not verify (including wrong length, DER, high-S).
    case badSignature
    /// The token has no `exp` claim; every accepted token must expire.
    case missingExpiration
    /// `exp` has passed (beyond the allowed clock skew).
    case expired(exp: Int, now: Int)
    /// `nbf` or `iat` lies in the future (beyond the allowed clock skew).
    case notYetValid(claim: String, value: Int, now: Int)
    /// `aud` is not the expected audience.
    case wrongAudience(expected: String, found: String?)
    /// The header `typ` is not the expected token type.
    case wrongType(expected: String, found: String?)
    /// An HMAC secret is empty.
    case invalidSecret
    /// Producing the token failed.
    case signingFailed(String)

    public var description: String {
        switch self {
        case .malformed(let reason):
            return "malformed JWT: \(reason)"
        case .algorithmMismatch(let expected, let found):
            return "JWT algorithm \"\(found)\" does not match the key (expected \"\(expected)\")"
        case .badSignature:
            return "JWT signature is invalid"
        case .missingExpiration:
            return "JWT has no expiration (exp) claim"
        case .expired(let exp, let now):
            return "JWT expired at \(exp) (now \(now))"
        case .notYetValid(let claim, let value, let now):
            return "JWT is not valid yet: \(claim) \(value) is in the future (now \(now))"
        case .wrongAudience(let expected, let found):
            return "JWT audience \(found.map { "\"\($0)\"" } ?? "(none)") is not \"\(expected)\""
        case .wrongType(let expected, let found):
            return "JWT type \(found.map { "\"\($0)\"" } ?? "(none)") is not \"\(expected)\""
        case .invalidSecret:
            return "JWT HMAC secret must not be empty"
        case .signingFailed(let reason):
            return "JWT signing failed: \(reason)"
        }
    }

    public var errorDescription: String? { description }
}
