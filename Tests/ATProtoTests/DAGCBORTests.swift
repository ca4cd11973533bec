import TestSupport
import Testing

@testable import ATProto

@Suite("DAG-CBOR")
struct DAGCBORTests {
    // MARK: Encoding

    @Test func encodesIntegerHeadsInShortestForm() throws {
        let cases: [(Int64, [UInt8])] = [
            (0, [0x00]), (1, [0x01]), (23, [0x17]), (24, [0x18, 0x18]), (255, [0x18, 0xff]),
            (256, [0x19, 0x01, 0x00]), (65535, [0x19, 0xff, 0xff]), (65536, [0x1a, 0x00, 0x01, 0x00, 0x00]),
            (4_294_967_295, [0x1a, 0xff, 0xff, 0xff, 0xff]),
            (4_294_967_296, [0x1b, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00]),
            (Int64.max, [0x1b, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
            (-1, [0x20]), (-24, [0x37]), (-25, [0x38, 0x18]), (-256, [0x38, 0xff]), (-257, [0x39, 0x01, 0x00]),
            (Int64.min, [0x3b, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
        ]
        for (value, bytes) in cases {
            #expect(DAGCBOR.encode(.int(value)) == bytes, "\(value)")
            #expect(try DAGCBOR.decode(bytes) == .int(value), "\(value)")
        }
    }

    @Test func encodesScalarsStringsAndContainers() throws {
        #expect(DAGCBOR.encode(.null) == [0xf6])
        #expect(DAGCBOR.encode(.bool(false)) == [0xf4])
        #expect(DAGCBOR.encode(.bool(true)) == [0xf5])
        #expect(DAGCBOR.encode(.string("")) == [0x60])
        #expect(DAGCBOR.encode(.string("a")) == [0x61, 0x61])
        #expect(DAGCBOR.encode(.string("ü")) == [0x62, 0xc3, 0xbc])
        #expect(DAGCBOR.encode(.bytes([])) == [0x40])
        #expect(DAGCBOR.encode(.bytes([1, 2])) == [0x42, 1, 2])
        #expect(DAGCBOR.encode(.array([])) == [0x80])
        #expect(DAGCBOR.encode(.map(DataMap())) == [0xa0])
        let long = String(repeating: "x", count: 300)
        #expect(Array(DAGCBOR.encode(.string(long)).prefix(3)) == [0x79, 0x01, 0x2c])
        // Keys come out in canonical order however the map was built.
        let map: DataValue = ["bb": 1, "a": 2, "c": 3, "aaa": 4]
        #expect(DAGCBOR.encode(map) == [0xa4, 0x61, 0x61, 2, 0x61, 0x63, 3, 0x62, 0x62, 0x62, 1, 0x63, 0x61, 0x61, 0x61, 4])
        // {"hello": "world"}, the message of the crypto signature fixtures.
        #expect(DAGCBOR.encode(["hello": "world"]) == [0xa1, 0x65] + Array("hello".utf8) + [0x65] + Array("world".utf8))
    }

    @Test func encodesLinksAsTag42() throws {
        let cid = try CID(string: "bafyreidfayvfuwqa7qlnopdjiqrxzs6blmoeu4rujcjtnci5beludirz2a")
        let bytes = DAGCBOR.encode(.link(cid))
        #expect(bytes == [0xd8, 0x2a, 0x58, 0x25, 0x00] + cid.bytes)
        #expect(try DAGCBOR.decode(bytes) == .link(cid))
    }

    // MARK: Fixtures (CBOR side)

    /// Decoding each fixture's bytes and encoding again gives the same bytes
    /// and CID. The JSON side is in `DataModelVectorTests`.
    @Test func fixtureBytesRoundTrip() throws {
        var count = 0
        for path in ["interop/data-model/data-model-fixtures.json", "interop/atproto-monorepo/data-model/data-model-fixtures-extra.json"] {
            let vectors = try #require(try Fixtures.json(path) as? [[String: Any]])
            for vector in vectors {
                let base64 = try #require(vector["cbor_base64"] as? String)
                let bytes = try #require(Base64.decode(base64))
                let value = try DAGCBOR.decode(bytes)
                #expect(DAGCBOR.encode(value) == bytes)
                #expect(CID.compute(DAGCBOR.encode(value)).string == vector["cid"] as? String)
                count += 1
            }
        }
        print("DAG-CBOR fixture bytes: \(count) vectors")
        #expect(count == 5)
    }

    // MARK: Decoding: prefix and trailing bytes

    @Test func decodePrefixReadsConcatenatedObjects() throws {
        let header: DataValue = ["op": 1, "t": "#commit"]
        let body: DataValue = ["seq": 42, "blocks": .bytes([1, 2, 3])]
        let frame = DAGCBOR.encode(header) + DAGCBOR.encode(body)
        let (first, n) = try DAGCBOR.decodePrefix(frame)
        #expect(first == header)
        #expect(n == DAGCBOR.encode(header).count)
        let (second, m) = try DAGCBOR.decodePrefix(frame[n...])
        #expect(second == body)
        #expect(n + m == frame.count)
        #expect(throws: DAGCBORError.trailingBytes(offset: n)) { try DAGCBOR.decode(frame) }
    }

    // MARK: Decoding: one rejection test per kind of invalid input

    static let cidBytes: [UInt8] = [0x01, 0x71, 0x12, 0x20] + [UInt8](repeating: 0xab, count: 32)

    @Test func rejectsNonShortestIntegers() throws {
        for bytes: [UInt8] in [
            [0x18, 0x17], [0x19, 0x00, 0xff], [0x1a, 0x00, 0x00, 0xff, 0xff],
            [0x1b, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff], [0x38, 0x00], [0x39, 0x00, 0x10],
        ] {
            #expect(throws: DAGCBORError.nonMinimalEncoding(offset: 0), "\(bytes.hex)") { try DAGCBOR.decode(bytes) }
        }
    }

    @Test func rejectsNonShortestLengths() throws {
        for bytes: [UInt8] in [[0x58, 0x00], [0x78, 0x01, 0x61], [0x98, 0x00], [0xb8, 0x00], [0x59, 0x00, 0x01, 0x00]] {
            #expect(throws: DAGCBORError.nonMinimalEncoding(offset: 0), "\(bytes.hex)") { try DAGCBOR.decode(bytes) }
        }
        // A map key's length and a tag number are heads too.
        #expect(throws: DAGCBORError.nonMinimalEncoding(offset: 1)) { try DAGCBOR.decode([0xa1, 0x78, 0x01, 0x61, 0x01]) }
        #expect(throws: DAGCBORError.nonMinimalEncoding(offset: 0)) {
            try DAGCBOR.decode([0xd9, 0x00, 0x2a, 0x58, 0x25, 0x00] + Self.cidBytes)
        }
    }

    @Test func rejectsFloats() throws {
        for bytes: [UInt8] in [[0xf9, 0x3c, 0x00], [0xfa, 0x3f, 0x80, 0x00, 0x00], [0xfb, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0]] {
            #expect(throws: DAGCBORError.floatNotAllowed(offset: 0), "\(bytes.hex)") { try DAGCBOR.decode(bytes) }
        }
        #expect(throws: DAGCBORError.floatNotAllowed(offset: 3)) { try DAGCBOR.decode([0xa1, 0x61, 0x61, 0xf9, 0x00, 0x00]) }
    }

    @Test func rejectsUndefinedAndSimpleValues() throws {
        for bytes: [UInt8] in [[0xf7], [0xf8, 0x20], [0xf8, 0x14], [0xe0], [0xf3]] {
            #expect(throws: DAGCBORError.unsupportedSimpleValue(offset: 0), "\(bytes.hex)") { try DAGCBOR.decode(bytes) }
        }
    }

    @Test func rejectsIndefiniteLengthsAndBreak() throws {
        for bytes: [UInt8] in [[0x5f, 0x41, 0x00, 0xff], [0x7f, 0x61, 0x61, 0xff], [0x9f, 0xff], [0xbf, 0xff], [0xff]] {
            #expect(throws: DAGCBORError.indefiniteLength(offset: 0), "\(bytes.hex)") { try DAGCBOR.decode(bytes) }
        }
    }

    @Test func rejectsReservedAdditionalInformation() throws {
        for bytes: [UInt8] in [[0x1c], [0x3d], [0x5e], [0x9c], [0xfc]] {
            #expect(throws: DAGCBORError.reservedAdditionalInfo(offset: 0), "\(bytes.hex)") { try DAGCBOR.decode(bytes) }
        }
    }

    @Test func rejectsNonStringMapKeys() throws {
        for bytes: [UInt8] in [[0xa1, 0x01, 0x02], [0xa1, 0x41, 0x61, 0x01], [0xa1, 0xf6, 0x01], [0xa1, 0x80, 0x01]] {
            #expect(throws: DAGCBORError.mapKeyNotString(offset: 1), "\(bytes.hex)") { try DAGCBOR.decode(bytes) }
        }
    }

    @Test func rejectsDuplicateKeys() throws {
        #expect(throws: DAGCBORError.duplicateMapKey(offset: 4, key: "a")) {
            try DAGCBOR.decode([0xa2, 0x61, 0x61, 0x01, 0x61, 0x61, 0x02])
        }
    }

    @Test func rejectsKeysOutOfCanonicalOrder() throws {
        // Bytewise order within the same length.
        #expect(throws: DAGCBORError.mapKeysOutOfOrder(offset: 4, key: "a")) {
            try DAGCBOR.decode([0xa2, 0x61, 0x62, 0x01, 0x61, 0x61, 0x02])
        }
        // Length first: "b" must come before "aa".
        #expect(throws: DAGCBORError.mapKeysOutOfOrder(offset: 5, key: "b")) {
            try DAGCBOR.decode([0xa2, 0x62, 0x61, 0x61, 0x01, 0x61, 0x62, 0x02])
        }
        // Same length: bytes compare unsigned, 0xc3 0xa9 ("é") before 0xc3 0xbc ("ü").
        #expect(try DAGCBOR.decode([0xa2, 0x62, 0xc3, 0xa9, 0x01, 0x62, 0xc3, 0xbc, 0x02]) == ["é": 1, "ü": 2])
    }

    @Test func rejectsTagsOtherThan42() throws {
        #expect(throws: DAGCBORError.unsupportedTag(offset: 0, tag: 0)) { try DAGCBOR.decode([0xc0, 0x60]) }
        #expect(throws: DAGCBORError.unsupportedTag(offset: 0, tag: 2)) { try DAGCBOR.decode([0xc2, 0x41, 0x01]) }
        #expect(throws: DAGCBORError.unsupportedTag(offset: 0, tag: 43)) { try DAGCBOR.decode([0xd8, 0x2b, 0x40]) }
        #expect(throws: DAGCBORError.unsupportedTag(offset: 0, tag: 55799)) { try DAGCBOR.decode([0xd9, 0xd9, 0xf7, 0x00]) }
    }

    @Test func rejectsMalformedLinks() throws {
        // Not a byte string.
        #expect(throws: DAGCBORError.linkNotByteString(offset: 2)) { try DAGCBOR.decode([0xd8, 0x2a, 0x61, 0x00]) }
        #expect(throws: DAGCBORError.linkNotByteString(offset: 2)) { try DAGCBOR.decode([0xd8, 0x2a, 0xd8, 0x2a]) }
        // No 0x00 prefix, or empty.
        #expect(throws: DAGCBORError.linkMissingPrefix(offset: 2)) { try DAGCBOR.decode([0xd8, 0x2a, 0x58, 0x24] + Self.cidBytes) }
        #expect(throws: DAGCBORError.linkMissingPrefix(offset: 2)) { try DAGCBOR.decode([0xd8, 0x2a, 0x40]) }
        // A byte after the CID inside the byte string.
        #expect(throws: DAGCBORError.invalidCID(offset: 2, reason: .trailingBytes)) {
            try DAGCBOR.decode([0xd8, 0x2a, 0x58, 0x26, 0x00] + Self.cidBytes + [0x00])
        }
        // Truncated CID, CIDv0 / unknown version, unknown codec, other hash, short digest.
        var truncated = Self.cidBytes
        truncated.removeLast()
        #expect(throws: DAGCBORError.invalidCID(offset: 2, reason: .truncated)) {
            try DAGCBOR.decode([0xd8, 0x2a, 0x58, 0x24, 0x00] + truncated)
        }
        var badVersion = Self.cidBytes
        badVersion[0] = 0x02
        #expect(throws: DAGCBORError.invalidCID(offset: 2, reason: .unsupportedVersion(2))) {
            try DAGCBOR.decode([0xd8, 0x2a, 0x58, 0x25, 0x00] + badVersion)
        }
        var badCodec = Self.cidBytes
        badCodec[1] = 0x70
        #expect(throws: DAGCBORError.invalidCID(offset: 2, reason: .unsupportedCodec(0x70))) {
            try DAGCBOR.decode([0xd8, 0x2a, 0x58, 0x25, 0x00] + badCodec)
        }
        var badHash = Self.cidBytes
        badHash[2] = 0x13
        #expect(throws: DAGCBORError.invalidCID(offset: 2, reason: .unsupportedHash(0x13))) {
            try DAGCBOR.decode([0xd8, 0x2a, 0x58, 0x25, 0x00] + badHash)
        }
        // And a good one decodes.
        #expect(try DAGCBOR.decode([0xd8, 0x2a, 0x58, 0x25, 0x00] + Self.cidBytes) == .link(try CID(bytes: Self.cidBytes)))
    }

    @Test func rejectsInvalidUTF8() throws {
        for bytes: [UInt8] in [
            [0x61, 0xff], [0x62, 0xc3, 0x28], [0x62, 0xc0, 0x80], [0x63, 0xed, 0xa0, 0x80],
            [0x64, 0xf4, 0x90, 0x80, 0x80], [0x61, 0x80], [0x62, 0xe2, 0x82],
        ] {
            #expect(throws: DAGCBORError.invalidUTF8(offset: 0), "\(bytes.hex)") { try DAGCBOR.decode(bytes) }
        }
        // In a map key too.
        #expect(throws: DAGCBORError.invalidUTF8(offset: 1)) { try DAGCBOR.decode([0xa1, 0x61, 0xff, 0x01]) }
        // NUL is a valid character.
        #expect(try DAGCBOR.decode([0x63, 0x61, 0x00, 0x62]) == .string("a\u{0}b"))
    }

    /// The decoder's own UTF-8 check agrees with the standard library on
    /// random byte strings biased towards tricky lead and continuation bytes.
    @Test func utf8ValidatorAgreesWithStandardLibrary() throws {
        var rng = SeededGenerator(seed: 0x0078_7F8)
        let interesting: [UInt8] = [0x00, 0x41, 0x7f, 0x80, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xff, 0x9f, 0xa0, 0x8f, 0x90]
        var valid = 0
        for i in 0..<20_000 {
            let bytes = (0..<Int.random(in: 0...12, using: &rng)).map { _ in
                Bool.random(using: &rng) ? interesting.randomElement(using: &rng)! : UInt8.random(in: 0...255, using: &rng)
            }
            let expected = String(validating: bytes, as: UTF8.self)
            let actual = bytes.withUnsafeBufferPointer { UTF8Validation.string($0.baseAddress ?? UnsafePointer(bitPattern: 1)!, count: $0.count) }
            #expect(actual == expected, "case \(i): \(bytes.hex)")
            if expected != nil { valid += 1 }
        }
        #expect(valid > 1000)
    }

    @Test func rejectsIntegersOutsideInt64() throws {
        #expect(throws: DAGCBORError.integerOutOfRange(offset: 0)) {
            try DAGCBOR.decode([0x1b, 0x80, 0, 0, 0, 0, 0, 0, 0])
        }
        #expect(throws: DAGCBORError.integerOutOfRange(offset: 0)) {
            try DAGCBOR.decode([0x3b, 0x80, 0, 0, 0, 0, 0, 0, 0])
        }
        #expect(throws: DAGCBORError.integerOutOfRange(offset: 0)) {
            try DAGCBOR.decode([0x1b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])
        }
    }

    @Test func rejectsTruncatedInput() throws {
        for (bytes, offset): ([UInt8], Int) in [
            ([], 0), ([0x18], 0), ([0x19, 0x01], 0), ([0x1a, 0x01, 0x00], 0), ([0x1b, 0, 0, 0, 1], 0),
            ([0x82, 0x01, 0x18], 2), ([0xa1, 0x61, 0x61], 3), ([0xd8], 0), ([0xd8, 0x2a], 2),
            ([0xa1, 0x79, 0x01], 1), ([0x81, 0xd8, 0x2a, 0x58], 3),
        ] {
            #expect(throws: DAGCBORError.truncated(offset: offset), "\(bytes.hex)") { try DAGCBOR.decode(bytes) }
        }
    }

    /// A map key's or a link's length is checked against the bytes left
    /// after its head, not before it: the fuzz target found a key whose
    /// one-byte length ran one byte past the input (an ASan heap overflow).
    /// Each input here is a slice whose next byte in memory would complete
    /// it, so a decoder that reads past the end accepts the link or reports
    /// a later offset.
    @Test func keyAndLinkLengthsCountOnlyTheBytesAfterTheHead() throws {
        let key = [0xa1, 0x78, 0x18] + [UInt8](repeating: 0x61, count: 24) + [0xf6]
        #expect(throws: DAGCBORError.lengthExceedsInput(offset: 1, declared: 24, available: 23)) {
            try DAGCBOR.decode(key[0..<26])
        }
        let cid = try CID(string: "bafyreidfayvfuwqa7qlnopdjiqrxzs6blmoeu4rujcjtnci5beludirz2a")
        let link: [UInt8] = [0x81, 0xd8, 0x2a, 0x58, 0x25, 0x00] + cid.bytes
        #expect(throws: DAGCBORError.lengthExceedsInput(offset: 3, declared: 37, available: 36)) {
            try DAGCBOR.decodePrefix(link[0..<(link.count - 1)])
        }
        #expect(try DAGCBOR.decode(link) == .array([.link(cid)]))
    }

    @Test func rejectsLengthsLargerThanTheInput() throws {
        #expect(throws: DAGCBORError.lengthExceedsInput(offset: 0, declared: 2, available: 1)) {
            try DAGCBOR.decode([0x62, 0x61])
        }
        #expect(throws: DAGCBORError.lengthExceedsInput(offset: 0, declared: 2, available: 1)) {
            try DAGCBOR.decode([0x82, 0x01])
        }
        #expect(throws: DAGCBORError.lengthExceedsInput(offset: 0, declared: 1, available: 0)) {
            try DAGCBOR.decode([0xa1])
        }
        // Huge declared lengths are refused before anything is allocated.
        let huge: [UInt8] = [0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]
        for major: UInt8 in [0x5b, 0x7b, 0x9b, 0xbb] {
            #expect(throws: DAGCBORError.lengthExceedsInput(offset: 0, declared: UInt64(Int64.max), available: 2)) {
                try DAGCBOR.decode([major] + huge + [0x00, 0x00])
            }
            #expect(throws: DAGCBORError.lengthExceedsInput(offset: 0, declared: UInt64.max, available: 0)) {
                try DAGCBOR.decode([major, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])
            }
        }
        // A map of n entries needs at least 2n bytes.
        #expect(throws: DAGCBORError.lengthExceedsInput(offset: 0, declared: 2, available: 3)) {
            try DAGCBOR.decode([0xa2, 0x60, 0x00, 0x00])
        }
    }

    /// Nested arrays that each declare nearly the whole input as their count
    /// are refused once the input runs out, without reserving memory for
    /// every declared count at once.
    @Test func nestedHugeDeclaredCountsFailCleanly() throws {
        let count: UInt32 = 200_000
        var bytes: [UInt8] = []
        for _ in 0..<DAGCBOR.maxNestingDepth {
            bytes += [0x9a] + withUnsafeBytes(of: count.bigEndian, Array.init)
        }
        bytes += [UInt8](repeating: 0x00, count: Int(count))
        #expect(throws: DAGCBORError.truncated(offset: bytes.count)) { try DAGCBOR.decode(bytes) }
    }

    @Test func rejectsDeepNestingWithoutOverflowingTheStack() throws {
        for opener: [UInt8] in [[0x81], [0xa1, 0x60]] {
            let deep = Array([[UInt8]](repeating: opener, count: 100_000).joined()) + [0x00]
            #expect(throws: DAGCBORError.nestingTooDeep(offset: opener.count * DAGCBOR.maxNestingDepth, limit: 128)) {
                try DAGCBOR.decode(deep)
            }
        }
        // Exactly at the limit is fine; one more is not.
        var value: DataValue = .int(0)
        for _ in 0..<DAGCBOR.maxNestingDepth { value = .array([value]) }
        #expect(try DAGCBOR.decode(DAGCBOR.encode(value)) == value)
        #expect(throws: DAGCBORError.nestingTooDeep(offset: 128, limit: 128)) {
            try DAGCBOR.decode(DAGCBOR.encode(.array([value])))
        }
    }

    @Test func errorMessagesAreReadable() throws {
        let error = DAGCBORError.mapKeysOutOfOrder(offset: 7, key: "text")
        #expect(error.description == "map key \"text\" is out of canonical order (at byte 7)")
        #expect(DAGCBORError.floatNotAllowed(offset: 3).offset == 3)
    }

    // MARK: Random round trips and fuzzing

    @Test func randomValuesRoundTrip() throws {
        var generator = RandomDataValues(seed: 0xDA7A)
        for i in 0..<3000 {
            let value = generator.value(depth: 5)
            let bytes = DAGCBOR.encode(value)
            let decoded = try DAGCBOR.decode(bytes)
            #expect(decoded == value, "case \(i)")
            #expect(DAGCBOR.encode(decoded) == bytes, "case \(i)")
        }
    }

    /// Mutated and truncated encodings either throw or decode to a value that
    /// re-encodes to exactly the same bytes (there is one encoding per value).
    @Test func mutatedEncodingsNeverCrash() throws {
        var generator = RandomDataValues(seed: 0xF022)
        var rng = SeededGenerator(seed: 0xBAD_C0DE)
        var cases = 0
        var accepted = 0
        for _ in 0..<1500 {
            let original = DAGCBOR.encode(generator.value(depth: 4))
            for _ in 0..<8 {
                var bytes = original
                switch Int.random(in: 0..<6, using: &rng) {
                case 0:
                    bytes.removeLast(Int.random(in: 1...bytes.count, using: &rng))
                case 1:
                    bytes[Int.random(in: 0..<bytes.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
                case 2:
                    let i = Int.random(in: 0..<bytes.count, using: &rng)
                    bytes[i] ^= 1 << UInt8.random(in: 0..<8, using: &rng)
                case 3:
                    bytes.insert(UInt8.random(in: 0...255, using: &rng), at: Int.random(in: 0...bytes.count, using: &rng))
                case 4:
                    bytes.remove(at: Int.random(in: 0..<bytes.count, using: &rng))
                default:
                    for _ in 0..<Int.random(in: 2...6, using: &rng) {
                        bytes[Int.random(in: 0..<bytes.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
                    }
                }
                cases += 1
                if let value = try? DAGCBOR.decode(bytes) {
                    accepted += 1
                    #expect(DAGCBOR.encode(value) == bytes, "\(bytes.hex)")
                }
            }
        }
        print("DAG-CBOR fuzz: \(cases) mutated inputs, \(accepted) still valid")
        #expect(cases == 12_000)
    }

    @Test func acceptsArraySlicesAndNonContiguousCollections() throws {
        let value: DataValue = ["a": [1, 2, "three"], "b": .bytes([9])]
        let bytes = DAGCBOR.encode(value)
        let padded = [0xff] + bytes + [0xff]
        #expect(try DAGCBOR.decode(padded[1..<(padded.count - 1)]) == value)
        #expect(try DAGCBOR.decode(bytes.lazy.map { $0 }) == value)
    }
}
