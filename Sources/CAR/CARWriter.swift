import ATProto

/// Writes a CAR v1 file (a DAG-CBOR header `{version: 1, roots}`, then
/// sections of `varint(length) CID bytes`) to a sink, in chunks of at most
/// `chunkSize` bytes, so a whole repository is never held in memory.
public struct CARWriter {
    private var buffer: [UInt8] = []
    private let chunkSize: Int
    private let sink: ([UInt8]) throws -> Void

    /// Starts a CAR with the given roots; `sink` receives the bytes in order.
    public init(roots: [CID], chunkSize: Int = 64 * 1024, sink: @escaping ([UInt8]) throws -> Void) {
        self.chunkSize = chunkSize
        self.sink = sink
        buffer.reserveCapacity(chunkSize + 1024)
        CARWriter.appendHeader(roots: roots, to: &buffer)
    }

    /// Appends one block.
    public mutating func write(cid: CID, bytes: [UInt8]) throws {
        CARWriter.appendSection(cid: cid, bytes: bytes, to: &buffer)
        if buffer.count >= chunkSize { try flush() }
    }

    /// Appends one block whose CID is given in binary form and not parsed:
    /// for copying blocks that storage checked when they were written.
    public mutating func writeRaw<C: Collection, B: Collection>(cidBytes: C, bytes: B) throws
    where C.Element == UInt8, B.Element == UInt8 {
        Varint.encode(UInt64(cidBytes.count + bytes.count), into: &buffer)
        buffer.append(contentsOf: cidBytes)
        buffer.append(contentsOf: bytes)
        if buffer.count >= chunkSize { try flush() }
    }

    /// Sends whatever is buffered to the sink. Call it once at the end.
    public mutating func finish() throws {
        try flush()
    }

    private mutating func flush() throws {
        guard !buffer.isEmpty else { return }
        try sink(buffer)
        buffer.removeAll(keepingCapacity: true)
    }

    /// The whole CAR for a small set of blocks, in memory.
    public static func bytes(roots: [CID], blocks: [(cid: CID, bytes: [UInt8])]) -> [UInt8] {
        var out: [UInt8] = []
        appendHeader(roots: roots, to: &out)
        for block in blocks { appendSection(cid: block.cid, bytes: block.bytes, to: &out) }
        return out
    }

    static func appendHeader(roots: [CID], to out: inout [UInt8]) {
        let header: DataValue = ["version": 1, "roots": .array(roots.map { .link($0) })]
        let encoded = DAGCBOR.encode(header)
        Varint.encode(UInt64(encoded.count), into: &out)
        out.append(contentsOf: encoded)
    }

    static func appendSection(cid: CID, bytes: [UInt8], to out: inout [UInt8]) {
        let cidBytes = cid.bytes
        Varint.encode(UInt64(cidBytes.count + bytes.count), into: &out)
        out.append(contentsOf: cidBytes)
        out.append(contentsOf: bytes)
    }
}
