import ATCrypto
import ATProto
import FeedGen
import Foundation
import HTTPTypes
import PDS

/// Who calls the dashboard API.
struct DashboardCaller: Sendable {
    let did: DID
    /// Whether the caller's repository is hosted on this PDS (writes are
    /// then made here; otherwise they go to the caller's own PDS with
    /// ``remote``'s token, or, without one, the API answers with the
    /// records to write).
    let isLocal: Bool
    /// The caller's OAuth session with its own PDS (dashboard pages).
    var remote: RemoteSession? = nil

    /// A signed-in dashboard user's OAuth session, for writes to its PDS.
    struct RemoteSession: Sendable {
        let agent: OAuthClientAgent
        let session: OAuthClientStore.Session
    }
}

/// Authenticates dashboard API calls: `Authorization: Bearer <token>` with
/// either an access token of a session of this PDS, or a service-auth JWT
/// from any PDS (`aud` = this service's DID, `lxm` = ``serviceMethod``,
/// signed by the issuer's current signing key, found by a pluggable
/// ``SigningKeyResolver``).
struct DashboardAuth: Sendable {
    /// The `lxm` a service token for the dashboard API carries.
    static let serviceMethod = "net.atrarium.dashboard"

    let services: PDSServices
    let serviceTokens: ServiceAuthVerifier
    let writer: LocalRepoWriter

    init(services: PDSServices, keyResolver: any SigningKeyResolver) {
        self.services = services
        serviceTokens = ServiceAuthVerifier(resolver: keyResolver, audience: services.config.resolvedServiceDID)
        writer = LocalRepoWriter(services: services)
    }

    func caller(authorization: String?) async throws -> DashboardCaller {
        guard let authorization, authorization.hasPrefix("Bearer ") else {
            throw DashboardError.unauthorized("AuthenticationRequired", "a Bearer access token or service token is required")
        }
        let token = String(authorization.dropFirst("Bearer ".count)).trimmingCharacters(in: .whitespaces)
        let header: JWTHeader
        do {
            header = try JWT.decodeUnverified(token).header
        } catch {
            throw DashboardError.unauthorized("InvalidToken", "the token is not a JWT")
        }
        if header.typ == "at+jwt" {
            do {
                let user = try await services.authenticate(accessToken: token)
                return DashboardCaller(did: user.did, isLocal: true)
            } catch let error as XRPCError {
                throw DashboardError.unauthorized(error.name, error.message)
            }
        }
        let did: DID
        do {
            did = try await serviceTokens.verify(token, method: Self.serviceMethod)
        } catch {
            throw DashboardError.unauthorized(error.name, error.message)
        }
        let local = try await writer.hostedAccount(did: did)
        if let local, local.status != .active {
            throw DashboardError.unauthorized("AccountInactive", "the account \(did) is not active")
        }
        return DashboardCaller(did: did, isLocal: local != nil)
    }
}
