import Foundation
import TestSupport
import Testing

@testable import ATProto

/// The interop data-model vectors (see `Tests/Fixtures/interop/README.md`),
/// run through ``ATProtoJSON`` and ``DAGCBOR``. Each test counts its vectors
/// against the README so that a lost vector fails the test.
@Suite("Data-model interop vectors")
struct DataModelVectorTests {
    static func vectors(_ path: String) throws -> [[String: [UInt8]]] {
        try RawJSONMembers.split(Array(Fixtures.data("interop/" + path)))
    }

    /// A plain JSON string member, such as `cid` or `cbor_base64`.
    static func string(_ vector: [String: [UInt8]], _ key: String) throws -> String {
        let raw = try #require(vector[key], "vector has no \(key)")
        return try #require(try ATProtoJSON.decode(raw).stringValue, "\(key) is not a string")
    }

    /// JSON → value → DAG-CBOR bytes and CID as given; bytes → value → JSON →
    /// value is the same value.
    static func checkFixture(_ vector: [String: [UInt8]], mode: ATProtoJSON.Mode) throws {
        let json = try #require(vector["json"])
        let value = try ATProtoJSON.decode(json, mode: mode)
        let expectedBytes = try #require(Base64.decode(try string(vector, "cbor_base64")))
        let bytes = DAGCBOR.encode(value)
        #expect(bytes == expectedBytes)
        #expect(CID.compute(bytes).string == (try string(vector, "cid")))

        let decoded = try DAGCBOR.decode(expectedBytes)
        #expect(decoded == value)
        let reencodedJSON = ATProtoJSON.encode(decoded)
        #expect(try ATProtoJSON.decode(reencodedJSON, mode: mode) == decoded)
    }

    @Test func fixtures() throws {
        let vectors = try Self.vectors("data-model/data-model-fixtures.json")
        for vector in vectors { try Self.checkFixture(vector, mode: .strict) }
        print("data-model fixtures: \(vectors.count) vectors")
        #expect(vectors.count == 3)
    }

    @Test func validValues() throws {
        let vectors = try Self.vectors("data-model/data-model-valid.json")
        for vector in vectors {
            let note = try Self.string(vector, "note")
            let json = try #require(vector["json"])
            let record = try ATProtoJSON.decodeRecord(json)
            // And the value survives DAG-CBOR and JSON round trips.
            let value = DataValue.map(record)
            #expect(try DAGCBOR.decode(DAGCBOR.encode(value)) == value, "\(note)")
            #expect(try ATProtoJSON.decode(ATProtoJSON.encode(value)) == value, "\(note)")
        }
        print("data-model valid: \(vectors.count) vectors")
        #expect(vectors.count == 5)
    }

    /// Each invalid vector must be refused, and for the reason its note gives.
    @Test func invalidValues() throws {
        let expected: [String: (ATProtoJSONError) -> Bool] = [
            "top-level not an object": { if case .notAnObject = $0 { true } else { false } },
            "float": { if case .notAnInteger(_, "123.456") = $0 { true } else { false } },
            "record with $type null": { if case .invalidType = $0 { true } else { false } },
            "record with $type wrong type": { if case .invalidType = $0 { true } else { false } },
            "record with empty $type string": { if case .invalidType = $0 { true } else { false } },
            "blob with string size": {
                if case .invalidBlob(_, .wrongFieldType(field: "size", _)) = $0 { true } else { false }
            },
            "blob with missing key": { if case .invalidBlob(_, .missingField("ref")) = $0 { true } else { false } },
            "bytes with wrong field type": { if case .invalidBytes = $0 { true } else { false } },
            "bytes with extra fields": { if case .invalidBytes = $0 { true } else { false } },
            "link with wrong field type": { if case .invalidLink = $0 { true } else { false } },
            "link with bogus CID": { if case .invalidLink = $0 { true } else { false } },
            "link with extra fields": { if case .invalidLink = $0 { true } else { false } },
        ]
        let vectors = try Self.vectors("data-model/data-model-invalid.json")
        var notes: Set<String> = []
        for vector in vectors {
            let note = try Self.string(vector, "note")
            notes.insert(note)
            let json = try #require(vector["json"])
            do {
                let value = try ATProtoJSON.decodeRecord(json)
                Issue.record("accepted invalid vector \"\(note)\": \(value)")
            } catch {
                let matches = try #require(expected[note], "no expectation for \"\(note)\"")
                #expect(matches(error), "\"\(note)\" was refused for another reason: \(error)")
            }
        }
        print("data-model invalid: \(vectors.count) vectors")
        #expect(vectors.count == 12)
        #expect(notes == Set(expected.keys))
    }

    /// `ipldArray` is valid atproto data (not a record); `poorlyFormatted`
    /// has `$link`/`$bytes` objects with extra keys, which strict decoding
    /// refuses and lenient decoding keeps as plain maps, as the encoder in
    /// the vector's source does.
    @Test func extraFixtures() throws {
        let vectors = try Self.vectors("atproto-monorepo/data-model/data-model-fixtures-extra.json")
        var names: [String] = []
        for vector in vectors {
            let name = try Self.string(vector, "name")
            names.append(name)
            let json = try #require(vector["json"])
            switch name {
            case "ipldArray":
                try Self.checkFixture(vector, mode: .strict)
                #expect(throws: ATProtoJSONError.notAnObject(offset: 0)) { try ATProtoJSON.decodeRecord(json) }
            case "poorlyFormatted":
                let error = #expect(throws: ATProtoJSONError.self) { try ATProtoJSON.decode(json) }
                if case .invalidLink = error {} else { Issue.record("expected invalidLink, got \(String(describing: error))") }
                try Self.checkFixture(vector, mode: .lenient)
            default:
                Issue.record("unknown extra vector \(name)")
            }
        }
        print("data-model extra fixtures: \(vectors.count) vectors")
        #expect(names == ["ipldArray", "poorlyFormatted"])
    }
}
