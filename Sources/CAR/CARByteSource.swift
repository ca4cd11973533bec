import Foundation

/// Where a ``CARReader`` takes its bytes from: a buffer in memory or a file,
/// read in chunks so a large repository never has to fit in memory.
public protocol CARByteSource {
    /// Returns up to `count` next bytes; an empty array means end of input.
    mutating func read(upTo count: Int) throws -> [UInt8]
}

/// A byte source over bytes already in memory.
public struct InMemoryByteSource: CARByteSource {
    private let bytes: [UInt8]
    private var offset = 0

    public init<C: Collection>(_ bytes: C) where C.Element == UInt8 {
        self.bytes = Array(bytes)
    }

    public mutating func read(upTo count: Int) throws -> [UInt8] {
        let end = min(bytes.count, offset + count)
        defer { offset = end }
        return Array(bytes[offset..<end])
    }
}

/// A byte source reading a file through a `FileHandle`.
public struct FileByteSource: CARByteSource {
    private let handle: FileHandle

    public init(_ handle: FileHandle) {
        self.handle = handle
    }

    public mutating func read(upTo count: Int) throws -> [UInt8] {
        guard let data = try handle.read(upToCount: count) else { return [] }
        return [UInt8](data)
    }
}
