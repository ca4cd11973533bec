import Testing

@testable import ATProto

@Suite("Low-level encodings")
struct EncodingTests {
    @Test func varintRoundTrip() throws {
        for v: UInt64 in [0, 1, 127, 128, 255, 300, 16384, 0x71, 0x1200, UInt64(Int64.max)] {
            let bytes = Varint.encode(v)
            let (decoded, n) = try Varint.decode(bytes)
            #expect(decoded == v)
            #expect(n == bytes.count)
        }
        #expect(Varint.encode(300) == [0xac, 0x02])
    }

    @Test func varintRejectsMalformed() {
        #expect(throws: Varint.DecodeError.truncated) { try Varint.decode([0x80]) }
        #expect(throws: Varint.DecodeError.notMinimal) { try Varint.decode([0x81, 0x00]) }
        #expect(throws: Varint.DecodeError.overlong) { try Varint.decode([UInt8](repeating: 0xff, count: 10)) }
    }

    @Test func base32RoundTrip() {
        for n in 0..<40 {
            let bytes = (0..<n).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
            #expect(Base32.decode(Base32.encode(bytes)) == bytes)
        }
        #expect(Base32.encode(Array("foobar".utf8)) == "mzxw6ytboi")
        #expect(Base32.decode("MZXW6YTBOI") == nil)
    }

    @Test func base58RoundTrip() {
        #expect(Base58.encode(Array("Hello World!".utf8)) == "2NEpo7TZRRrLZSi2U")
        #expect(Base58.encode([0, 0, 1]) == "112")
        for n in 0..<40 {
            let bytes = [0] + (0..<n).map { UInt8(truncatingIfNeeded: $0 &* 91 &+ 3) }
            #expect(Base58.decode(Base58.encode(bytes)) == bytes)
        }
        #expect(Base58.decode("0OIl") == nil)
    }

    @Test func base64RoundTrip() {
        #expect(Base64.encode(Array("any carnal pleas".utf8)) == "YW55IGNhcm5hbCBwbGVhcw")
        #expect(Base64.encode(Array("any carnal pleas".utf8), padding: true) == "YW55IGNhcm5hbCBwbGVhcw==")
        #expect(Base64.decode("YW55IGNhcm5hbCBwbGVhcw==") == Array("any carnal pleas".utf8))
        #expect(Base64.decode("YW55IGNhcm5hbCBwbGVhcw") == Array("any carnal pleas".utf8))
        #expect(Base64.encode([0xfb, 0xff], alphabet: .url) == "-_8")
        #expect(Base64.decode("-_8") == nil)
        #expect(Base64.decode("A") == nil)
    }

    @Test func cidParseAndPrint() throws {
        let s = "bafyreidfayvfuwqa7qlnopdjiqrxzs6blmoeu4rujcjtnci5beludirz2a"
        let cid = try CID(string: s)
        #expect(cid.codec == .dagCBOR)
        #expect(cid.string == s)
        #expect(try CID(bytes: cid.bytes) == cid)
        #expect(throws: CID.ParseError.self) { try CID(string: "QmbWqxBEKC3P8tqsKc98xmWNzrzDtRLMiMPL8wBuTGsMnR") }
        #expect(throws: CID.ParseError.self) { try CID(string: s + "a") }
        // The CID of the empty raw block is well known.
        #expect(CID.compute([], codec: .raw).string == "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku")
    }

    /// The digest is held inline: equality, hashing and ordering must agree
    /// with the binary form they stand for.
    @Test func cidEqualityHashAndOrderFollowTheBinaryForm() throws {
        var rng = SystemRandomNumberGenerator()
        var cids: [CID] = []
        for n in 0..<400 {
            var digest = (0..<32).map { _ in UInt8.random(in: 0...255, using: &rng) }
            // Digests differing only in their last byte, and in their first.
            if n % 7 == 0, let last = cids.last { digest = last.digest; digest[31] &+= 1 }
            if n % 11 == 0, let last = cids.last { digest = last.digest; digest[0] &+= 1 }
            cids.append(CID(codec: n % 3 == 0 ? .raw : .dagCBOR, digest: digest))
        }
        for (x, y) in zip(cids, cids.shuffled()) {
            #expect((x == y) == (x.bytes == y.bytes))
            #expect((x < y) == x.bytes.lexicographicallyPrecedes(y.bytes))
            #expect(try CID(bytes: x.bytes) == x)
            #expect(try CID(bytes: x.bytes).hashValue == x.hashValue)
            #expect(x.digest.count == 32 && Array(x.bytes.suffix(32)) == x.digest)
        }
        #expect(Set(cids + cids).count == Set(cids.map(\.bytes)).count)
        #expect(cids.sorted().map(\.bytes) == cids.map(\.bytes).sorted { $0.lexicographicallyPrecedes($1) })
        // Same digest, other codec: different CIDs.
        let raw = CID(codec: .raw, digest: cids[1].digest), cbor = CID(codec: .dagCBOR, digest: cids[1].digest)
        #expect(raw != cbor && raw.string != cbor.string)
    }
}
