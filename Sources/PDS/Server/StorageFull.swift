import Foundation
import HTTPTypes
import ServiceStorage

/// Recognises errors that mean the disk (or the user's quota) is full, so
/// that a write refused for lack of space is answered `507
/// InsufficientStorage` with a message a client can show, not `500`. Such a
/// write changed nothing: SQLite rolls the transaction back, and a blob's
/// temporary file is removed.
enum StorageFull {
    /// The answer to a write that failed for lack of space.
    static let error = XRPCError(
        HTTPResponse.Status(code: 507), "InsufficientStorage",
        "The server's disk is full; nothing was written. Try again later.")

    /// Whether `error` says the disk is full.
    static func matches(_ error: any Error) -> Bool {
        if StoreFailure.isDiskFull(error) { return true }
        switch error {
        case let error as BlobStoreError:
            if case .io(_, let code) = error { return code == ENOSPC || code == EDQUOT }
            return false
        case let error as POSIXError:
            return error.code == .ENOSPC || error.code == .EDQUOT
        case let error as CocoaError:
            return (error.userInfo[NSUnderlyingErrorKey] as? POSIXError).map(matches) ?? false
        default:
            return false
        }
    }
}
