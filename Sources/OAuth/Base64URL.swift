import ATProto
import Crypto

/// Unpadded base64url (RFC 4648 §5), as JOSE and PKCE write bytes.
public enum Base64URL {
    public static func encode(_ bytes: some Collection<UInt8>) -> String {
        Base64.encode(Array(bytes), alphabet: .url, padding: false)
    }

    /// The bytes of an unpadded base64url string, or nil.
    public static func decode(_ text: some StringProtocol) -> [UInt8]? {
        guard !text.contains("=") else { return nil }
        return Base64.decode(text, alphabet: .url)
    }

    /// The bytes of unpadded base64url text given as UTF-8 bytes, or nil.
    public static func decode(utf8 text: some Collection<UInt8>) -> [UInt8]? {
        guard !text.contains(61) else { return nil }  // "="
        return Base64.decode(utf8: text, alphabet: .url)
    }

    /// base64url(SHA-256(`text`)): PKCE's S256 challenge and DPoP's `ath`.
    public static func sha256(_ text: String) -> String {
        encode(Array(SHA256.hash(data: Array(text.utf8))))
    }
}
