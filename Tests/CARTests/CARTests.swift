import ATProto
import Foundation
import TestSupport
import Testing

@testable import CAR

@Suite("CAR v1")
struct CARTests {
    typealias JSON = [String: Any]

    static func b64(_ s: String) -> [UInt8] { Base64.decode(s)! }

    @Test func fixtureWritesAndReadsExactly() throws {
        let cases = try Fixtures.json("interop/atproto-monorepo/repo/car-file-fixtures.json") as! [JSON]
        for c in cases {
            let root = try CID(string: c["root"] as! String)
            let blocks = try (c["blocks"] as! [JSON]).map {
                (cid: try CID(string: $0["cid"] as! String), bytes: Self.b64($0["bytes"] as! String))
            }
            let expected = Self.b64(c["car"] as! String)
            #expect(CARWriter.bytes(roots: [root], blocks: blocks) == expected)

            // The streaming writer, with a tiny chunk size, produces the same bytes.
            var streamed: [UInt8] = []
            var writer = CARWriter(roots: [root], chunkSize: 7) { streamed += $0 }
            for b in blocks { try writer.write(cid: b.cid, bytes: b.bytes) }
            try writer.finish()
            #expect(streamed == expected)

            var reader = try CARReader(source: InMemoryByteSource(expected))
            #expect(reader.roots == [root])
            var read: [CARBlock] = []
            while let block = try reader.next() { read.append(block) }
            #expect(read.map(\.cid) == blocks.map(\.cid))
            #expect(read.map(\.bytes) == blocks.map(\.bytes))
        }
        #expect(cases.count == 1)
        print("car fixtures: \(cases.count) file")
    }

    static func sample() -> (root: CID, blocks: [(cid: CID, bytes: [UInt8])], car: [UInt8]) {
        let blocks = (0..<20).map { i -> (cid: CID, bytes: [UInt8]) in
            let bytes = DAGCBOR.encode(["n": .int(Int64(i)), "text": .string(String(repeating: "x", count: i * 10))])
            return (CID.compute(bytes), bytes)
        }
        return (blocks[0].cid, blocks, CARWriter.bytes(roots: [blocks[0].cid], blocks: blocks))
    }

    static func readAll(_ bytes: [UInt8], limits: CARReader<InMemoryByteSource>.Limits = .init()) throws -> Int {
        var reader = try CARReader(source: InMemoryByteSource(bytes), limits: limits)
        var n = 0
        while try reader.next() != nil { n += 1 }
        return n
    }

    @Test func readsFromAFile() throws {
        let (root, blocks, car) = Self.sample()
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("car-\(UUID().uuidString).car")
        try Data(car).write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        let handle = try FileHandle(forReadingFrom: url)
        defer { try? handle.close() }
        var reader = try CARReader(source: FileByteSource(handle))
        #expect(reader.roots == [root])
        #expect(try reader.readAll().count == blocks.count)
    }

    @Test func rejectsEveryTruncation() throws {
        let (_, blocks, car) = Self.sample()
        #expect(try Self.readAll(car) == blocks.count)
        // Cutting the file anywhere except at a section boundary is an error.
        var boundaries = Set<Int>()
        var offset = car.count
        for b in blocks.reversed() {
            boundaries.insert(offset)
            offset -= b.bytes.count + b.cid.bytes.count + Varint.encode(UInt64(b.bytes.count + 36)).count
        }
        boundaries.insert(offset)
        for cut in 0..<car.count where !boundaries.contains(cut) {
            #expect(throws: CARError.self, "cut at \(cut)") { try Self.readAll(Array(car[..<cut])) }
        }
    }

    @Test func rejectsAWrongCID() throws {
        var (_, _, car) = Self.sample()
        car[car.count - 1] ^= 0x01  // flip a bit of the last block's data
        #expect {
            try Self.readAll(car)
        } throws: { error in
            guard case CARError.cidMismatch = error else { return false }
            return true
        }
    }

    @Test func rejectsBadVarintsAndHugeLengths() throws {
        let (_, _, car) = Self.sample()
        let headerLength = Int(car[0]) + 1
        let header = Array(car[..<headerLength])
        // A section length that is not minimally encoded.
        #expect(throws: CARError.malformedVarint(offset: headerLength)) {
            try Self.readAll(header + [0x81, 0x00])
        }
        // A varint longer than nine bytes.
        #expect(throws: CARError.self) { try Self.readAll(header + [UInt8](repeating: 0xff, count: 12)) }
        // A huge declared length is refused before anything is allocated.
        let huge = header + Varint.encode(1 << 40) + [1, 2, 3]
        #expect(throws: CARError.sectionTooLarge(offset: headerLength, length: 1 << 40, limit: 2 * 1024 * 1024 + 64)) {
            try Self.readAll(huge)
        }
        #expect(throws: CARError.headerTooLarge(length: 1 << 30, limit: 64 * 1024)) {
            try Self.readAll(Varint.encode(1 << 30) + [0xa2])
        }
        // An empty section.
        #expect(throws: CARError.emptySection(offset: headerLength)) { try Self.readAll(header + [0x00]) }
        // A section whose CID is not a CIDv1.
        #expect(throws: CARError.self) { try Self.readAll(header + [0x03, 0x12, 0x20, 0x00]) }
        // A block-count limit.
        #expect(throws: CARError.tooManyBlocks(limit: 5)) {
            try Self.readAll(car, limits: .init(maxBlocks: 5))
        }
    }

    @Test func rejectsMalformedHeaders() throws {
        func car(header: DataValue) -> [UInt8] {
            let bytes = DAGCBOR.encode(header)
            return Varint.encode(UInt64(bytes.count)) + bytes
        }
        let root = CID.compute([1])
        #expect(throws: CARError.unsupportedVersion(2)) { try Self.readAll(car(header: ["version": 2, "roots": [.link(root)]])) }
        #expect(throws: CARError.self) { try Self.readAll(car(header: ["roots": [.link(root)]])) }
        #expect(throws: CARError.self) { try Self.readAll(car(header: ["version": 1, "roots": ["x"]])) }
        #expect(throws: CARError.self) { try Self.readAll(car(header: ["version": 1])) }
        #expect(throws: CARError.self) { try Self.readAll(car(header: "not a map")) }
        #expect(throws: CARError.self) { try Self.readAll([0x02, 0xff, 0xff]) }
        #expect(throws: CARError.self) { try Self.readAll([]) }
        #expect(try Self.readAll(car(header: ["version": 1, "roots": []])) == 0)
    }
}
