import ATProto
import Foundation
import Hummingbird
import NIOCore

/// did:web accounts whose DID document this server itself serves:
/// `did:web:<handle>` for a handle under one of this server's domains (for
/// example `did:web:alice.pds.example.com`), answered at
/// `https://<handle>/.well-known/did.json` by the request's `Host` — the
/// same DNS and TLS that already point the handle here. Such an account
/// needs no outside document: it is created active, and its document always
/// names its current key, handle and this server.
enum HostedDidWeb {
    /// The host a did:web names (without a port), or nil for another method.
    static func host(of did: DID) -> String? {
        guard did.method == "web" else { return nil }
        let rest = did.identifier
        // A port (`%3A`) or a path (`:`) is never one of our handles.
        guard !rest.contains(":"), !rest.contains("%") else { return nil }
        return rest.lowercased()
    }

    /// Whether `did` is a did:web this server hosts the document of.
    static func isHosted(_ did: DID, config: PDSConfig) -> Bool {
        guard let host = host(of: did) else { return false }
        return IdentityMethods.isServed(host, config: config)
    }

    /// The name in a request's `Host` header, without a port.
    static func requestHost(_ request: Request) -> String {
        let host = (request.head.authority ?? "").lowercased()
        return host.hasPrefix("[") ? host : String(host.split(separator: ":").first ?? "")
    }

    /// `/.well-known/did.json` for a `Host` other than the service's own:
    /// the document of the hosted did:web account of that name, or 404.
    static func document(for host: String, services: PDSServices) async -> Response {
        guard let did = try? DID("did:web:\(host)"), isHosted(did, config: services.config), let account = try? await services.accounts.account(did: did),
            account.status != .deleted
        else {
            return XRPCMethods.response(for: XRPCError(.notFound, "NotFound", "No DID document here for \(host)"))
        }
        return XRPCMethods.json(DIDDocument.of(account, services: services))
    }
}
