import ATProto
import Foundation
import NIOCore

/// Where blob bytes live, addressed only by their CID. Which account owns
/// which blob is not the store's business: that is `blob_ref` in the
/// database. The protocol is small so that an S3-compatible store can sit
/// behind it as well as the filesystem one (``FileBlobStore``).
///
/// Uploads are first streamed to a file in ``temporaryDirectory`` (while
/// their CID is computed) and then handed to ``put(_:movingFrom:)``.
public protocol BlobStore: Sendable {
    /// A local directory for uploads in progress. For a filesystem store it
    /// is on the same filesystem as the blobs, so `put` is an atomic rename.
    var temporaryDirectory: URL { get }

    /// Stores the finished upload at `file` as the blob `cid`, taking the
    /// file away (it no longer exists afterwards). When the blob is already
    /// stored, the file is simply discarded (same CID, same bytes).
    func put(_ cid: CID, movingFrom file: URL) async throws

    /// The blob's bytes as a stream of chunks, or nil when it is not stored.
    func read(_ cid: CID) async throws -> BlobContent?

    /// Removes the blob; removing a blob that is not stored is not an error.
    func delete(_ cid: CID) async throws

    /// Whether the blob is stored.
    func exists(_ cid: CID) async throws -> Bool
}

/// A stored blob being read: its size and its bytes, produced chunk by chunk
/// as the consumer asks for them (nothing is read ahead).
public struct BlobContent: Sendable {
    /// Size in bytes.
    public let size: Int
    /// The bytes, in chunks.
    public let chunks: AsyncThrowingStream<ByteBuffer, any Error>

    public init(size: Int, chunks: AsyncThrowingStream<ByteBuffer, any Error>) {
        self.size = size
        self.chunks = chunks
    }
}
