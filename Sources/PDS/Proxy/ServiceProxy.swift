import ATProto
import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import Identity
import NIOCore
import NIOHTTP1

/// Forwards XRPC calls this server does not implement to the service that
/// does: the one the `atproto-proxy` header names (`<did>#<service id>`,
/// resolved through the DID document), or by default the configured
/// AppView. Each request carries a fresh service-auth token of the caller
/// (`iss` the user, `aud` the service DID, `lxm` the method). Locally
/// registered methods never get here: the method table is consulted first.
enum ServiceProxy {
    /// Account-management methods that are never forwarded, nor issued
    /// service tokens (the reference PDS's list).
    static let protectedMethods: Set<String> = Set([
        "com.atproto.admin.sendEmail", "com.atproto.identity.requestPlcOperationSignature",
        "com.atproto.identity.signPlcOperation", "com.atproto.identity.updateHandle", "com.atproto.server.activateAccount",
        "com.atproto.server.confirmEmail", "com.atproto.server.createAppPassword", "com.atproto.server.deactivateAccount",
        "com.atproto.server.getAccountInviteCodes", "com.atproto.server.getSession", "com.atproto.server.listAppPasswords",
        "com.atproto.server.requestAccountDelete", "com.atproto.server.requestEmailConfirmation",
        "com.atproto.server.requestEmailUpdate", "com.atproto.server.revokeAppPassword", "com.atproto.server.updateEmail",
    ].map { $0.lowercased() })

    /// Methods an ordinary app-password session may not call through the
    /// proxy (direct messages, account creation elsewhere).
    static let privilegedMethods: Set<String> = Set([
        "chat.bsky.actor.deleteAccount", "chat.bsky.actor.exportAccountData", "chat.bsky.convo.deleteMessageForSelf",
        "chat.bsky.convo.getConvo", "chat.bsky.convo.getConvoForMembers", "chat.bsky.convo.getLog",
        "chat.bsky.convo.getMessages", "chat.bsky.convo.leaveConvo", "chat.bsky.convo.listConvos", "chat.bsky.convo.muteConvo",
        "chat.bsky.convo.sendMessage", "chat.bsky.convo.sendMessageBatch", "chat.bsky.convo.unmuteConvo",
        "chat.bsky.convo.updateRead", "com.atproto.server.createAccount",
    ].map { $0.lowercased() })

    /// The header naming the target service.
    static let proxyHeader = HTTPField.Name("atproto-proxy")!

    /// Whether an unimplemented method is forwarded: with an `atproto-proxy`
    /// header any method is, otherwise the AppView's, chat's and
    /// moderation's namespaces.
    static func isForwarded(_ nsid: String, request: Request) -> Bool {
        request.headers[proxyHeader] != nil || nsid.hasPrefix("app.bsky.") || nsid.hasPrefix("chat.bsky.")
            || nsid.hasPrefix("tools.ozone.") || nsid == "com.atproto.moderation.createReport"
    }

    /// Where a call goes.
    struct Target: Sendable {
        /// Base URL of the service.
        let url: String
        /// The service's DID (the token's `aud`).
        let did: DID
        /// The service's ID in the DID document (`bsky_appview`).
        var service = "bsky_appview"

        /// `did#service`, as `rpc:` permissions name the audience.
        var reference: String { "\(did.string)#\(service)" }
    }

    /// The target named by the `atproto-proxy` header, else the default.
    static func target(for call: XRPCCall) async throws -> Target {
        let config = call.services.config
        guard let header = call.request.headers[proxyHeader] else {
            // Reports go to the configured report service (the reference
            // PDS's PDS_REPORT_SERVICE_URL and _DID), as its labeler.
            if call.method == "com.atproto.moderation.createReport", let url = config.reportServiceURL,
                let did = config.reportServiceDID.flatMap({ try? DID($0) })
            {
                return Target(url: url, did: did, service: "atproto_labeler")
            }
            if call.method.hasPrefix("tools.ozone.") || call.method == "com.atproto.moderation.createReport" {
                throw XRPCError.invalidRequest("No service configured for \(call.method): send an atproto-proxy header naming the moderation service")
            }
            guard let url = config.appViewURL, !url.isEmpty, let did = config.appViewDID.flatMap({ try? DID($0) }) else {
                throw XRPCError(.notImplemented, "MethodNotImplemented",
                                "\(call.method) is served by an AppView, and this server has none configured (appViewURL and appViewDID)")
            }
            return Target(url: url, did: did)
        }
        let parts = header.split(separator: "#", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty, !header.contains(" ") else {
            throw XRPCError.invalidRequest("invalid atproto-proxy header: expected <did>#<service id>")
        }
        guard let did = try? DID(String(parts[0])) else {
            throw XRPCError.invalidRequest("invalid atproto-proxy header: \(parts[0]) is not a DID")
        }
        if let appViewDID = config.appViewDID, let url = config.appViewURL, header == "\(appViewDID)#bsky_appview" {
            return Target(url: url, did: did)
        }
        let document: ResolvedDIDDocument
        do {
            document = try await call.services.identity.dids.resolve(did)
        } catch {
            throw XRPCError.invalidRequest("could not resolve proxy did: \(error)")
        }
        guard let endpoint = document.serviceEndpoint(String(parts[1])), let url = URL(string: endpoint),
            url.scheme == "https" || url.scheme == "http", url.host != nil
        else { throw XRPCError.invalidRequest("could not resolve proxy did service url") }
        return Target(url: endpoint, did: did, service: String(parts[1]))
    }

    /// Forwards the call with a token for `aud`/`lxm` (defaults: the
    /// target's DID and the call's method) and answers what the service
    /// answered.
    static func forward(_ call: XRPCCall, user: AuthenticatedUser, target: Target, aud: String? = nil, lxm: String? = nil)
        async throws -> XRPCResult
    {
        let services = call.services
        var base = target.url
        while base.hasSuffix("/") { base.removeLast() }
        var url = "\(base)/xrpc/\(call.method)"
        if let query = call.request.uri.query, !query.isEmpty { url += "?" + query }
        var request = HTTPClientRequest(url: url)
        request.method = call.request.method == .post ? .POST : .GET
        let token = try ServiceAuth.mint(account: user.account, aud: aud ?? target.did.string, lxm: lxm ?? call.method)
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        for name in ["accept-language", "atproto-accept-labelers", "x-bsky-topics"] {
            if let value = call.request.headers[HTTPField.Name(name)!] { request.headers.add(name: name, value: value) }
        }
        if call.request.method == .post {
            let body = try await call.bodyBytes(limit: services.config.maxRequestBody)
            if let type = call.request.headers[.contentType] { request.headers.add(name: "Content-Type", value: type) }
            request.body = .bytes(body)
        }
        let reply: GuardedHTTPClient.Reply
        do {
            reply = try await services.identity.http.send(request, timeout: .seconds(max(1, services.config.proxyTimeoutSeconds)), maxBytes: 32 << 20)
        } catch .forbiddenAddress(let host, let address) {
            throw XRPCError.invalidRequest("refusing to proxy to \(host): it resolves to the non-public address \(address)")
        } catch {
            if case .unreachable(let why) = error, why.hasSuffix("timed out") {
                throw XRPCError(.gatewayTimeout, "UpstreamTimeout", "The upstream service did not answer in time")
            }
            throw XRPCError(.badGateway, "UpstreamFailure", "The upstream service could not be reached: \(error)")
        }
        var headers = HTTPFields()
        for name in ["atproto-repo-rev", "atproto-content-labelers", "retry-after", "content-language"] {
            if let value = reply.headers.first(name: name) { headers[HTTPField.Name(name)!] = value }
        }
        let status = reply.status == 500 ? 502 : reply.status
        return .proxied(
            status: HTTPResponse.Status(code: status), contentType: reply.headers.first(name: "content-type"), body: reply.body,
            headers: headers)
    }

    /// Authenticates the caller, refuses protected and (for app passwords)
    /// privileged methods, and forwards the call to its target.
    static func handle(_ call: XRPCCall) async throws -> XRPCResult {
        let lowered = call.method.lowercased()
        if protectedMethods.contains(lowered) { throw XRPCError(.badRequest, "InvalidToken", "Bad token method") }
        let target = try await target(for: call)
        // A taken-down account may still report (as the reference allows).
        let user = try await call.authenticate(allowInactive: lowered == "com.atproto.moderation.createreport", checksPermissions: true)
        try user.require(rpc: call.method, aud: target.reference)
        if !user.scope.isPrivileged && privilegedMethods.contains(lowered) {
            throw XRPCError(.badRequest, "InvalidToken", "Bad token method")
        }
        return try await forward(call, user: user, target: target)
    }
}
