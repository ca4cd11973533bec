import ATProto
import Foundation
import NIOCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A ``BlobStore`` of content-addressed files:
/// `<root>/<first digest byte as 2 hex digits>/<CID string>`, with uploads in
/// progress under `<root>/tmp/`. A path is only ever derived from a parsed
/// ``CID`` (whose string form is `b` and base32 lower-case letters and digits),
/// never from request input, so no request can name a file outside `<root>`.
public struct FileBlobStore: BlobStore {
    /// The blobs directory, `<dataDirectory>/blobs`.
    public let root: URL
    public let temporaryDirectory: URL

    /// Bytes per chunk when a blob is read.
    static let chunkSize = 64 * 1024

    /// Opens (creating if needed) the store under `root`.
    public init(root: URL) throws {
        self.root = root
        self.temporaryDirectory = root.appendingPathComponent("tmp", isDirectory: true)
        try FileManager.default.createDirectory(
            at: temporaryDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
    }

    /// Where the blob `cid` is stored.
    public func path(for cid: CID) -> URL {
        let shard = String(cid.digest[0], radix: 16)
        return root
            .appendingPathComponent(shard.count == 1 ? "0" + shard : shard, isDirectory: true)
            .appendingPathComponent(cid.string, isDirectory: false)
    }

    public func put(_ cid: CID, movingFrom file: URL) async throws {
        let destination = path(for: cid)
        try FileManager.default.createDirectory(
            at: destination.deletingLastPathComponent(), withIntermediateDirectories: true,
            attributes: [.posixPermissions: 0o700])
        // rename(2) is atomic and replaces an existing file, which (same CID)
        // holds the same bytes: readers see the old file or the new one, whole.
        guard rename(file.path, destination.path) == 0 else {
            let code = errno
            try? FileManager.default.removeItem(at: file)
            throw BlobStoreError.io("cannot move the upload into the blob store", code)
        }
    }

    public func read(_ cid: CID) async throws -> BlobContent? {
        let url = path(for: cid)
        let handle: FileHandle
        do {
            handle = try FileHandle(forReadingFrom: url)
        } catch {
            if !FileManager.default.fileExists(atPath: url.path) { return nil }
            throw error
        }
        let size = Int(try handle.seekToEnd())
        try handle.seek(toOffset: 0)
        let chunks = AsyncThrowingStream<ByteBuffer, any Error> {
            guard let data = try handle.read(upToCount: FileBlobStore.chunkSize), !data.isEmpty else {
                try? handle.close()
                return nil
            }
            return ByteBuffer(bytes: data)
        }
        return BlobContent(size: size, chunks: chunks)
    }

    public func delete(_ cid: CID) async throws {
        guard unlink(path(for: cid).path) == 0 || errno == ENOENT else {
            throw BlobStoreError.io("cannot delete blob \(cid)", errno)
        }
    }

    public func exists(_ cid: CID) async throws -> Bool {
        FileManager.default.fileExists(atPath: path(for: cid).path)
    }
}

/// A blob store operation that failed.
public enum BlobStoreError: Error, CustomStringConvertible {
    /// A filesystem call failed with `errno`.
    case io(String, Int32)

    public var description: String {
        switch self {
        case .io(let what, let code): return "\(what): \(String(cString: strerror(code)))"
        }
    }
}
