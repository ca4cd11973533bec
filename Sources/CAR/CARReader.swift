import ATProto
import Crypto

/// One block of a CAR: its CID and the bytes that hash to it.
public struct CARBlock: Sendable, Equatable {
    public let cid: CID
    public let bytes: [UInt8]

    public init(cid: CID, bytes: [UInt8]) {
        self.cid = cid
        self.bytes = bytes
    }
}

/// Reads a CAR v1 file block by block from a ``CARByteSource``, checking
/// every block's bytes against its CID. Lengths are checked against limits
/// before anything is allocated, so a hostile file costs bounded memory.
public struct CARReader<Source: CARByteSource> {
    /// Size limits applied while reading.
    public struct Limits: Sendable {
        /// Largest accepted header, in bytes.
        public var maxHeaderBytes: Int
        /// Largest accepted section (CID plus block), in bytes.
        public var maxSectionBytes: Int
        /// Most blocks accepted in one file.
        public var maxBlocks: Int

        public init(maxHeaderBytes: Int = 64 * 1024, maxSectionBytes: Int = 2 * 1024 * 1024 + 64, maxBlocks: Int = 10_000_000) {
            self.maxHeaderBytes = maxHeaderBytes
            self.maxSectionBytes = maxSectionBytes
            self.maxBlocks = maxBlocks
        }
    }

    /// The roots listed in the header.
    public private(set) var roots: [CID]

    private var source: Source
    private var buffer: [UInt8] = []
    private var position = 0
    /// Offset in the file of `buffer[position]`, for error messages.
    private var offset = 0
    private var atEnd = false
    private var blockCount = 0
    private let limits: Limits
    private static var readChunk: Int { 64 * 1024 }

    /// Opens a CAR and reads its header.
    public init(source: Source, limits: Limits = Limits()) throws {
        self.source = source
        self.limits = limits
        self.roots = []
        let length = try readLength(allowEnd: false) ?? 0
        guard length <= UInt64(limits.maxHeaderBytes) else {
            throw CARError.headerTooLarge(length: length, limit: limits.maxHeaderBytes)
        }
        let headerBytes = try readExactly(Int(length))
        let header: DataValue
        do {
            header = try DAGCBOR.decode(headerBytes)
        } catch {
            throw CARError.malformedHeader("\(error)")
        }
        guard let map = header.mapValue else { throw CARError.malformedHeader("not a map") }
        guard let version = map["version"]?.intValue else { throw CARError.malformedHeader("no integer version") }
        guard version == 1 else { throw CARError.unsupportedVersion(version) }
        guard let rootValues = map["roots"]?.arrayValue else { throw CARError.malformedHeader("no roots array") }
        var roots: [CID] = []
        for value in rootValues {
            guard let cid = value.linkValue else { throw CARError.malformedHeader("a root is not a CID link") }
            roots.append(cid)
        }
        self.roots = roots
    }

    /// The next block, or nil at the end of the file.
    public mutating func next() throws -> CARBlock? {
        let start = offset
        guard let length = try readLength(allowEnd: true) else { return nil }
        guard length > 0 else { throw CARError.emptySection(offset: start) }
        guard length <= UInt64(limits.maxSectionBytes) else {
            throw CARError.sectionTooLarge(offset: start, length: length, limit: limits.maxSectionBytes)
        }
        blockCount += 1
        guard blockCount <= limits.maxBlocks else { throw CARError.tooManyBlocks(limit: limits.maxBlocks) }
        let section = try readExactly(Int(length))
        let cid: CID
        let cidLength: Int
        do {
            (cid, cidLength) = try CID.decodePrefix(section)
        } catch {
            throw CARError.malformedCID(offset: start, reason: "\(error)")
        }
        let bytes = Array(section.dropFirst(cidLength))
        guard cid.withDigestBytes({ SHA256.hash(data: bytes).elementsEqual($0) }) else {
            throw CARError.cidMismatch(offset: start, cid: cid.string)
        }
        return CARBlock(cid: cid, bytes: bytes)
    }

    /// Reads every remaining block into a dictionary.
    public mutating func readAll() throws -> [CID: [UInt8]] {
        var blocks: [CID: [UInt8]] = [:]
        while let block = try next() { blocks[block.cid] = block.bytes }
        return blocks
    }

    // MARK: - Buffered input

    private mutating func fill(_ needed: Int) throws -> Bool {
        while buffer.count - position < needed && !atEnd {
            if position > 0 {
                buffer.removeFirst(position)
                position = 0
            }
            let chunk = try source.read(upTo: max(Self.readChunk, needed - buffer.count))
            if chunk.isEmpty { atEnd = true } else { buffer.append(contentsOf: chunk) }
        }
        return buffer.count - position >= needed
    }

    /// Reads a section length; nil when the input ends cleanly before it.
    private mutating func readLength(allowEnd: Bool) throws -> UInt64? {
        let start = offset
        var value: UInt64 = 0
        var shift: UInt64 = 0
        for index in 0..<10 {
            guard try fill(1) else {
                if index == 0 && allowEnd { return nil }
                throw CARError.truncated(offset: offset)
            }
            let byte = buffer[position]
            position += 1
            offset += 1
            if index == 9 { throw CARError.malformedVarint(offset: start) }
            value |= UInt64(byte & 0x7f) << shift
            if byte & 0x80 == 0 {
                if byte == 0 && index > 0 { throw CARError.malformedVarint(offset: start) }
                return value
            }
            shift += 7
        }
        throw CARError.malformedVarint(offset: start)
    }

    private mutating func readExactly(_ count: Int) throws -> ArraySlice<UInt8> {
        guard try fill(count) else { throw CARError.truncated(offset: offset + (buffer.count - position)) }
        defer {
            position += count
            offset += count
        }
        return buffer[position..<position + count]
    }
}
