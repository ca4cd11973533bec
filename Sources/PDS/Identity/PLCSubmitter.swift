import ATProto
import Foundation
import Logging
import ServiceLifecycle
import ServiceStorage

/// Submits queued did:plc operations to the PLC directory, oldest first per
/// DID: right after the change that queued them (`submitPending(did:)`) and,
/// for those that failed because the directory was unreachable, again with a
/// backoff that doubles from 2 seconds up to an hour, also after a restart.
/// An operation the directory rejects is marked `rejected` and logged.
public struct PLCSubmitter: Service {
    let services: PDSServices

    public init(services: PDSServices) {
        self.services = services
    }

    public func run() async throws {
        let directoryConfigured = services.plcDirectory != nil
        let queued = try await services.storage.write { tx in
            try PLCOperationLog.backfillGenesis(directoryConfigured: directoryConfigured, in: tx)
        }
        if queued > 0 { services.logger.info("queued genesis operations of existing accounts", metadata: ["count": "\(queued)"]) }
        do {
            try await Self.reconcileEndpoints(services: services)
        } catch {
            services.logger.error("could not update the PDS endpoint in DID documents", metadata: ["error": "\(error)"])
        }
        guard directoryConfigured else {
            services.logger.warning(
                "no PLC directory is configured (plcDirectoryURL): did:plc operations are kept unsubmitted, so other servers cannot resolve these accounts"
            )
            try? await gracefulShutdown()
            return
        }
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            await Self.submitDue(services: services)
            try? await Task.sleep(for: .seconds(2))
        }
    }

    /// When the server's public URL changed, every active did:plc account
    /// whose latest operation (signed here) names another `atproto_pds`
    /// endpoint gets an operation naming the current one, and an
    /// `#identity` event.
    static func reconcileEndpoints(services: PDSServices) async throws {
        let endpoint = services.config.resolvedPublicURL
        let rotationKey = services.secrets.rotationKey.publicKey.didKey
        let stale = try await services.storage.read { tx -> [DID] in
            let dids = try AccountStore.activePLCAccounts(in: tx)
            return try dids.filter { did in
                guard let latest = try PLCOperationLog.latest(did: did, in: tx) else { return false }
                return latest["services"]?["atproto_pds"]?["endpoint"]?.stringValue != endpoint
                    && latest["rotationKeys"]?.arrayValue?.contains(.string(rotationKey)) == true
            }
        }
        for did in stale {
            try await IdentityMethods.changeIdentity(did: did, services: services) { _, account in
                (account.handle, { $0["services"] = ["atproto_pds": ["type": "AtprotoPersonalDataServer", "endpoint": .string(endpoint)]] })
            }
            services.logger.notice("DID document updated to the new endpoint", metadata: ["did": .string(did.string), "endpoint": .string(endpoint)])
        }
    }

    /// Tries every due operation once.
    static func submitDue(services: PDSServices) async {
        let now = Int(Date().timeIntervalSince1970)
        guard let due = try? await services.storage.read({ tx in try PLCOperationLog.due(now: now, in: tx) }) else { return }
        for did in Set(due.map(\.did)) { await submitPending(did: did, services: services) }
    }

    /// Submits the pending operations of `did` in order, stopping at the
    /// first failure; returns whether none is left pending. One submission
    /// per DID runs at a time (a duplicate would be refused as a fork).
    @discardableResult
    static func submitPending(did: DID, services: PDSServices) async -> Bool {
        guard services.plcDirectory != nil else { return false }
        return (try? await services.plcLock.withLock(did) {
            let pending = try await services.storage.read { tx in try PLCOperationLog.pending(did: did, in: tx) }
            for operation in pending {
                guard await submit(operation, services: services) else { return false }
            }
            return true
        }) ?? false
    }

    /// One attempt; true when the directory accepted the operation.
    private static func submit(_ operation: PLCOperationLog.Pending, services: PDSServices) async -> Bool {
        guard let directory = services.plcDirectory else { return false }
        do {
            try await directory.submit(operation.operation, did: operation.did)
            try await services.storage.write { tx in try PLCOperationLog.markSubmitted(cid: operation.cid, in: tx) }
            await services.identity.dids.purge(operation.did)
            services.logger.info("PLC operation accepted", metadata: ["did": .string(operation.did.string), "cid": .string(operation.cid)])
            return true
        } catch PLCDirectoryClient.Failure.rejected(let why) {
            try? await services.storage.write { tx in try PLCOperationLog.markRejected(cid: operation.cid, error: why, in: tx) }
            services.logger.error("PLC operation rejected", metadata: ["did": .string(operation.did.string), "error": .string(why)])
            return false
        } catch {
            let backoff = min(3600, 2 << min(operation.attempts, 11))
            let next = Int(Date().timeIntervalSince1970) + backoff
            try? await services.storage.write { tx in
                try PLCOperationLog.markFailed(cid: operation.cid, error: "\(error)", nextAttempt: next, in: tx)
            }
            services.logger.warning(
                "PLC operation not submitted; will retry",
                metadata: ["did": .string(operation.did.string), "error": "\(error)", "retryInSeconds": "\(backoff)"])
            return false
        }
    }
}
