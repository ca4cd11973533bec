import ATProto
import CAR
import Repo

extension FuzzTargets {
    /// The CAR reader and repository verification (importRepo bodies,
    /// `pds repo import`).
    ///
    /// A mutated block no longer hashes to its CID, so the reader refuses it
    /// before any commit or MST node is decoded. The second half therefore
    /// takes the blocks under the CIDs the file declares, unchecked, and
    /// verifies the repository from those: that reaches the commit and MST
    /// node decoders with every mutation.
    static let car = FuzzTarget(name: "car", summary: "CAR reading and repository verification (importRepo)") { bytes in
        let limits = CARReader<InMemoryByteSource>.Limits(maxHeaderBytes: 4096, maxSectionBytes: 64 * 1024, maxBlocks: 4096)
        guard var reader = try? CARReader(source: InMemoryByteSource(bytes), limits: limits) else { return }
        while let block = try? reader.next() {
            precondition(CID.compute(block.bytes, codec: block.cid.codec) == block.cid, "a block does not hash to its CID")
        }
        if let verified = try? RepoVerifier.verifyCAR(InMemoryByteSource(bytes)) {
            precondition(verified.recordCount <= verified.blockCount, "more records than blocks")
        }
        guard let root = reader.roots.first, let blocks = declaredBlocks(bytes) else { return }
        if let verified = try? RepoVerifier.verify(root: root, blocks: blocks) {
            precondition(verified.collections.values.reduce(0, +) == verified.recordCount, "collection counts do not add up")
        }
    }

    /// The sections after the header, each under its declared CID; nil when
    /// the framing is broken (the reader has tested that part).
    static func declaredBlocks(_ bytes: UnsafeRawBufferPointer) -> [CID: [UInt8]]? {
        var rest = bytes[...]
        var blocks: [CID: [UInt8]] = [:]
        var first = true
        while !rest.isEmpty {
            guard let (length, size) = try? Varint.decode(rest), length <= UInt64(rest.count - size) else { return nil }
            let section = rest.dropFirst(size).prefix(Int(length))
            rest = rest.dropFirst(size + Int(length))
            if first {
                first = false  // the header
                continue
            }
            guard let (cid, cidLength) = try? CID.decodePrefix(section) else { return nil }
            blocks[cid] = Array(section.dropFirst(cidLength))
            if blocks.count > 4096 { return nil }
        }
        return blocks
    }
}
