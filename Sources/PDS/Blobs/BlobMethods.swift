import ATProto
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import ServiceStorage

/// Blobs over XRPC: `com.atproto.repo.uploadBlob`, `com.atproto.sync.getBlob`
/// and `com.atproto.sync.listBlobs`. (Account migration's `importRepo` and
/// `listMissingBlobs` are in ``MigrationMethods``.)
enum BlobMethods {
    static func register(_ methods: inout XRPCMethods) {
        methods.procedure("com.atproto.repo.uploadBlob", uploadBlob)
        methods.query("com.atproto.sync.getBlob", getBlob)
        methods.query("com.atproto.sync.listBlobs", listBlobs)
    }

    // MARK: - uploadBlob

    /// Who uploads: the session's account, or the local account that issued
    /// a service token for this server and `uploadBlob` (the video service
    /// uploads on the user's behalf that way).
    static func uploader(_ call: XRPCCall) async throws -> (did: DID, user: AuthenticatedUser?) {
        if let token = call.bearerToken, ServiceAuth.looksLikeServiceToken(token) {
            let did = try await ServiceAuth.verifyUserToken(token, lxm: "com.atproto.repo.uploadBlob", services: call.services)
            guard let account = try await call.services.accounts.account(did: did),
                account.status == .active || account.status == .deactivated
            else { throw XRPCError.invalidToken("The service token's issuer has no active account here") }
            return (did, nil)
        }
        let user = try await call.authenticate(allowInactive: true, checksPermissions: true)
        return (user.did, user)
    }

    /// Streams the body to a temporary file while hashing it, detects its
    /// MIME type, and stores it under its raw CID for the caller (within the
    /// upload limit, the account's quota and its hourly upload limit).
    /// Deactivated accounts may upload: account migration does so before
    /// activating.
    static func uploadBlob(_ call: XRPCCall) async throws -> XRPCResult {
        let services = call.services
        let (uploaderDID, user) = try await uploader(call)
        let config = services.config
        if let wait = services.rateLimiter.hit(
            .init(name: "uploads", max: config.rateLimits.uploadsPerHour, window: 3600), key: uploaderDID.string)
        {
            throw XRPCError.rateLimited(retryAfter: wait)
        }
        let file = try await RequestBodyFile.receive(call, limit: config.blobUploadLimit, into: services.blobStore.temporaryDirectory)
        defer { file.remove() }  // a no-op once the store has taken the file
        let cid = CID(codec: .raw, digest: file.digest)
        let mimeType = MIMESniffer.mimeType(head: file.head, declared: call.request.headers[.contentType])
        try user?.require(blob: mimeType)
        let stored = try await store(file, cid: cid, mimeType: mimeType, did: uploaderDID, services: services)
        services.logger.info(
            "blob uploaded",
            metadata: ["did": .string(uploaderDID.string), "cid": .string(cid.string), "size": .stringConvertible(file.size),
                       "mimeType": .string(stored)])
        return .json(["blob": BlobRef(ref: cid, mimeType: stored, size: Int64(file.size)).dataValue])
    }

    /// Moves the upload into the blob store and records it for `did`, under
    /// the blob's lock (so the garbage collector cannot delete the file
    /// between the two). The file goes first: a crash in between leaves an
    /// unrecorded file, never a record of a missing file.
    /// - Returns: the stored MIME type (an earlier upload of the same bytes
    ///   by the same account keeps its type).
    static func store(_ file: RequestBodyFile, cid: CID, mimeType: String, did: DID, services: PDSServices)
        async throws -> String
    {
        let quota = services.config.blobQuotaPerAccount
        return try await services.blobLock.withLock(cid) {
            try await services.blobStore.put(cid, movingFrom: file.url)
            do {
                return try await services.storage.write { tx in
                    let now = Int(Date().timeIntervalSince1970)
                    if let existing = try BlobRefStore.mimeType(did: did, cid: cid, in: tx) {
                        // Uploaded again: restart its grace period.
                        try BlobRefStore.touch(did: did, cid: cid, at: now, in: tx)
                        return existing
                    }
                    guard try BlobRefStore.usedBytes(did: did, in: tx) + file.size <= quota else { throw quotaExceeded(quota) }
                    try BlobRefStore.insert(did: did, cid: cid, mimeType: mimeType, size: file.size, at: now, in: tx)
                    return mimeType
                }
            } catch {
                // Nobody else holds this blob: take its file away again.
                let held = try await services.storage.read { tx in try BlobRefStore.isHeld(cid: cid, in: tx) }
                if !held { try? await services.blobStore.delete(cid) }
                throw error
            }
        }
    }

    static func quotaExceeded(_ quota: Int) -> XRPCError {
        .invalidRequest("Blob storage quota exceeded: an account may store at most \(quota) bytes of blobs")
    }

    // MARK: - getBlob

    /// Streams a blob an account uploaded, with headers that stop a browser
    /// from running or sniffing it.
    static func getBlob(_ call: XRPCCall) async throws -> XRPCResult {
        let account = try await SyncMethods.servable(call)
        let cid = try blobCID(try call.requiredParam("cid"))
        let services = call.services
        let mimeType = try await services.storage.read { tx in
            try BlobRefStore.mimeType(did: account.did, cid: cid, in: tx)
        }
        guard let mimeType, let content = try await services.blobStore.read(cid) else {
            throw XRPCError.notFound("BlobNotFound", "Blob not found")
        }
        let headers: HTTPFields = [
            .contentSecurityPolicy: "default-src 'none'; sandbox",
            .xContentTypeOptions: "nosniff",
            .cacheControl: "private",
        ]
        let chunks = content.chunks
        let body = ResponseBody(contentLength: content.size) { writer in
            for try await chunk in chunks { try await writer.write(chunk) }
            try await writer.finish(nil)
        }
        return .stream(contentType: mimeType, body, headers: headers)
    }

    /// A `cid` parameter: a valid CID, else 400.
    static func blobCID(_ value: String) throws(XRPCError) -> CID {
        do {
            return try CID(string: value)
        } catch {
            throw .invalidRequest("Invalid cid: \(error)")
        }
    }

    // MARK: - listBlobs

    /// The CIDs of blobs the account's records reference (with `since`, only
    /// records written after that rev), in CID order.
    static func listBlobs(_ call: XRPCCall) async throws -> XRPCResult {
        let account = try await SyncMethods.servable(call)
        let limit = try call.intParam("limit", default: 500, range: 1...1000)
        let since = call.param("since")
        if let since, !TID.isValid(since) { throw XRPCError.invalidRequest("since must be a TID (a repo rev)") }
        let cursor = call.param("cursor")
        if let cursor { _ = try blobCID(cursor) }
        let cids = try await call.services.storage.read { tx in
            try BlobTracking.usedBlobs(did: account.did, since: since, after: cursor, limit: limit, in: tx)
        }
        var body: DataMap = ["cids": .array(cids.map { .string($0) })]
        if cids.count == limit, let last = cids.last { body["cursor"] = .string(last) }
        return .json(.map(body))
    }
}
