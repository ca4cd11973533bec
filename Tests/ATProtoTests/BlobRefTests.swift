import Testing

@testable import ATProto

@Suite("BlobRef")
struct BlobRefTests {
    static let cid = try! CID(string: "bafkreiccldh766hwcnuxnf2wh6jgzepf2nlu2lvcllt63eww5p6chi4ity")

    @Test func readsAndWritesTheCurrentForm() throws {
        let value: DataValue = ["$type": "blob", "ref": .link(Self.cid), "mimeType": "image/jpeg", "size": 10000]
        let blob = try BlobRef(value)
        #expect(blob == BlobRef(ref: Self.cid, mimeType: "image/jpeg", size: 10000))
        #expect(!blob.isLegacy)
        #expect(blob.dataValue == value)
        #expect(try BlobRef(DAGCBOR.decode(DAGCBOR.encode(blob.dataValue))) == blob)
    }

    @Test func readsTheLegacyForm() throws {
        let value: DataValue = ["cid": .string(Self.cid.string), "mimeType": "image/png"]
        let blob = try BlobRef(value)
        #expect(blob.ref == Self.cid)
        #expect(blob.mimeType == "image/png")
        #expect(blob.size == -1)
        #expect(blob.isLegacy)
        #expect(blob.dataValue == value)
    }

    @Test func refusesMalformedBlobs() {
        let link = DataValue.link(Self.cid)
        let cases: [(DataValue, BlobRefError)] = [
            (.string("x"), .notAnObject),
            (["ref": link, "mimeType": "a/b", "size": 1], .wrongType(nil)),
            (["$type": "image", "ref": link, "mimeType": "a/b", "size": 1], .wrongType("image")),
            (["$type": "blob", "mimeType": "a/b", "size": 1], .missingField("ref")),
            (["$type": "blob", "ref": link, "size": 1], .missingField("mimeType")),
            (["$type": "blob", "ref": link, "mimeType": "a/b"], .missingField("size")),
            (["$type": "blob", "ref": "bafy", "mimeType": "a/b", "size": 1], .wrongFieldType(field: "ref", expected: "a CID link")),
            (["$type": "blob", "ref": link, "mimeType": "", "size": 1], .wrongFieldType(field: "mimeType", expected: "a non-empty string")),
            (["$type": "blob", "ref": link, "mimeType": "a/b", "size": "1"], .wrongFieldType(field: "size", expected: "an integer")),
            (["$type": "blob", "ref": link, "mimeType": "a/b", "size": -5], .negativeSize(-5)),
            (["$type": "blob", "ref": link, "mimeType": "a/b", "size": 1, "extra": 1], .unexpectedField("extra")),
            (["cid": "not a cid", "mimeType": "a/b"], .invalidLegacyCID("not a cid")),
            (["cid": .string(Self.cid.string), "mimeType": "a/b", "size": 1], .unexpectedField("size")),
            (["cid": .link(Self.cid), "mimeType": "a/b"], .wrongFieldType(field: "cid", expected: "a CID string")),
        ]
        for (value, error) in cases {
            #expect(throws: error, "\(value)") { try BlobRef(value) }
        }
        #expect(BlobRefError.negativeSize(-5).description == "blob size -5 is negative")
    }
}
