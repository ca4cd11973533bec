import ATProto
import HTTPTypes
import Hummingbird
import NIOCore
import OAuth

/// The answers of the authorization server's endpoints: JSON, never
/// cached (RFC 6749 §5.1), with the current DPoP nonce.
enum OAuthResponses {
    static let dpopNonce = HTTPField.Name("DPoP-Nonce")!
    static let dpop = HTTPField.Name("DPoP")!

    static func json(_ value: DataValue, status: HTTPResponse.Status = .ok, nonce: String?) -> Response {
        var headers: HTTPFields = [.cacheControl: "no-store", .contentType: "application/json"]
        if let nonce { headers[dpopNonce] = nonce }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: ATProtoJSON.encode(value))))
    }

    /// `{"error": code, "error_description": message}` with the error's status.
    static func error(_ error: OAuthError, nonce: String?) -> Response {
        var response = json(
            ["error": .string(error.code), "error_description": .string(error.message)],
            status: HTTPResponse.Status(code: error.status), nonce: nonce)
        if error.status == 401 { response.headers[.wwwAuthenticate] = "DPoP error=\"\(error.code)\"" }
        return response
    }
}
