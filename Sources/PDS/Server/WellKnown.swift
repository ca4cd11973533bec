import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// `/.well-known/atproto-did`: the DID of the local account whose handle is
/// the request's `Host` (for handles under this server's domains, whose DNS
/// points here); and `/tls-check?domain=`, which tells a reverse proxy with
/// on-demand certificates (Caddy's `ask`) which names are ours.
enum WellKnown {
    static func tlsCheck(_ request: Request, services: PDSServices) async -> Response {
        let domain = (request.uri.queryParameters["domain"].map(String.init) ?? "").lowercased()
        let ours: Bool
        if domain == services.config.hostname.lowercased() {
            ours = true
        } else if IdentityMethods.isServed(domain, config: services.config),
            let account = try? await services.accounts.account(identifier: domain)
        {
            ours = account.status != .deleted && account.handle.string == domain
        } else {
            ours = false
        }
        return Response(status: ours ? .ok : .notFound)
    }

    static func atprotoDID(_ request: Request, services: PDSServices) async -> Response {
        let host = (request.head.authority ?? "").lowercased()
        let name = host.hasPrefix("[") ? host : String(host.split(separator: ":").first ?? "")
        guard !name.isEmpty, IdentityMethods.isServed(name, config: services.config),
            let account = try? await services.accounts.account(identifier: name), account.status != .deleted,
            account.handle.string == name
        else {
            return Response(status: .notFound, headers: [.contentType: "text/plain"], body: .init(byteBuffer: ByteBuffer(string: "User not found")))
        }
        return Response(status: .ok, headers: [.contentType: "text/plain"], body: .init(byteBuffer: ByteBuffer(string: account.did.string)))
    }
}
