import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// `/.well-known/atproto-did`: the DID of the local account whose handle is
/// the request's `Host` (for handles under this server's domains, whose DNS
/// points here).
enum WellKnown {
    static func atprotoDID(_ request: Request, services: PDSServices) async -> Response {
        let host = (request.head.authority ?? "").lowercased()
        let name = host.hasPrefix("[") ? host : String(host.split(separator: ":").first ?? "")
        guard !name.isEmpty, IdentityMethods.isServed(name, config: services.config),
            let account = try? await services.accounts.account(identifier: name), account.status != .deleted,
            account.handle == name
        else {
            return Response(status: .notFound, headers: [.contentType: "text/plain"], body: .init(byteBuffer: ByteBuffer(string: "User not found")))
        }
        return Response(status: .ok, headers: [.contentType: "text/plain"], body: .init(byteBuffer: ByteBuffer(string: account.did)))
    }
}
