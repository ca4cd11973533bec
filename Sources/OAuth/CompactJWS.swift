import Foundation

/// A compact JWS (RFC 7515) split and decoded, its signature not yet
/// checked: DPoP proofs and client assertions carry members the session
/// tokens' `JWTClaims` do not (`jwk`, `htm`, `htu`, `ath`, `nonce`).
struct CompactJWS<Header: Decodable, Payload: Decodable> {
    let header: Header
    let payload: Payload
    /// `base64url(header) + "." + base64url(payload)`, the signed bytes.
    let signingInput: [UInt8]
    let signature: [UInt8]

    /// Longest token read: a proof with a P-256 key is about 600 bytes.
    static var maxLength: Int { 8 * 1024 }

    init(_ token: String, what: String) throws(OAuthError) {
        let (headerBytes, payloadBytes, signingInput, signature) = try Self.split(token, what: what)
        do {
            header = try JSONDecoder().decode(Header.self, from: Data(headerBytes))
        } catch {
            throw .invalidRequest("\(what) has a header that is not valid JSON of the expected shape")
        }
        do {
            payload = try JSONDecoder().decode(Payload.self, from: Data(payloadBytes))
        } catch {
            throw .invalidRequest("\(what) has a payload that is not valid JSON of the expected shape")
        }
        self.signingInput = signingInput
        self.signature = signature
    }

    init(header: Header, payload: Payload, signingInput: [UInt8], signature: [UInt8]) {
        self.header = header
        self.payload = payload
        self.signingInput = signingInput
        self.signature = signature
    }

    /// The decoded header and payload bytes, the signed bytes and the signature.
    static func split(_ token: String, what: String) throws(OAuthError) -> ([UInt8], [UInt8], [UInt8], [UInt8]) {
        // On the UTF-8 bytes: splitting and scanning the String by
        // Characters was half the time of a DPoP check.
        let bytes = Array(token.utf8)
        guard bytes.count <= Self.maxLength else { throw .invalidRequest("\(what) is longer than \(Self.maxLength) bytes") }
        let dot: UInt8 = 0x2E
        guard let first = bytes.firstIndex(of: dot), let second = bytes[(first + 1)...].firstIndex(of: dot),
            !bytes[(second + 1)...].contains(dot), let headerBytes = Base64URL.decode(utf8: bytes[..<first]),
            let payloadBytes = Base64URL.decode(utf8: bytes[(first + 1)..<second]), let signature = Base64URL.decode(utf8: bytes[(second + 1)...])
        else { throw .invalidRequest("\(what) is not a compact JWS of three base64url parts") }
        return (headerBytes, payloadBytes, Array(bytes[..<second]), signature)
    }
}
