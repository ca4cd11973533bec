import Foundation
import Hummingbird
import OAuth

/// An `application/x-www-form-urlencoded` body (RFC 6749 §3.2: the token
/// and PAR endpoints take their parameters so), each parameter at most
/// once.
public struct OAuthForm: Sendable {
    public private(set) var values: [String: String] = [:]

    /// The largest form read: a PAR with a long scope is a few kilobytes.
    static let maxBytes = 32 * 1024

    public init(_ text: String) throws(OAuthError) {
        for pair in text.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = Self.decode(parts[0]), let value = Self.decode(parts.count == 2 ? parts[1] : "") else {
                throw .invalidRequest("the form body is not valid application/x-www-form-urlencoded")
            }
            guard values[name] == nil else { throw .invalidRequest("parameter \(name) is given more than once") }
            values[name] = value
        }
    }

    /// Reads the body of `request`.
    public static func read(_ request: Request) async throws(OAuthError) -> OAuthForm {
        let contentType = request.headers[.contentType]?.lowercased() ?? ""
        guard contentType.hasPrefix("application/x-www-form-urlencoded") else {
            throw .invalidRequest("the body must be application/x-www-form-urlencoded")
        }
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: maxBytes)
        } catch {
            throw .invalidRequest("the form body is larger than \(maxBytes) bytes")
        }
        return try OAuthForm(String(buffer: buffer))
    }

    public subscript(_ name: String) -> String? {
        guard let value = values[name], !value.isEmpty else { return nil }
        return value
    }

    /// A parameter that must be present.
    func required(_ name: String) throws(OAuthError) -> String {
        guard let value = self[name] else { throw .invalidRequest("\(name) is required") }
        return value
    }

    private static func decode(_ part: Substring) -> String? {
        String(part).replacingOccurrences(of: "+", with: " ").removingPercentEncoding
    }
}
