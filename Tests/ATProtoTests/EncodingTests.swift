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
}
