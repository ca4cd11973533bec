import Testing

@testable import ATProto

@Suite("atproto JSON")
struct ATProtoJSONTests {
    static let cidString = "bafyreidfayvfuwqa7qlnopdjiqrxzs6blmoeu4rujcjtnci5beludirz2a"
    static let blobCIDString = "bafkreiccldh766hwcnuxnf2wh6jgzepf2nlu2lvcllt63eww5p6chi4ity"

    func decode(_ json: String, mode: ATProtoJSON.Mode = .strict) throws(ATProtoJSONError) -> DataValue {
        try ATProtoJSON.decode(json, mode: mode)
    }

    @Test func dataMapLookupOfMissingKeyIsNil() {
        let map: DataMap = ["a": .null, "b": 1]
        #expect(map["a"] == .some(.null))
        #expect(map["b"] == .some(.int(1)))
        #expect(map["c"] == Optional<DataValue>.none)
        #expect(DataMap()["x"] == Optional<DataValue>.none)
        #expect(DataValue.map(map)["zz"] == Optional<DataValue>.none)
    }

    // MARK: Scalars and numbers

    @Test func parsesScalarsAndContainers() throws {
        #expect(try decode("null") == .null)
        #expect(try decode(" true ") == .bool(true))
        #expect(try decode("\tfalse\r\n") == .bool(false))
        #expect(try decode(#""a\"b""#) == .string("a\"b"))
        #expect(try decode("[]") == .array([]))
        #expect(try decode("{}") == .map(DataMap()))
        #expect(try decode(#"[1, "two", [null], {"k": false}]"#) == [1, "two", [.null], ["k": false]])
        // Keys in any JSON order give the canonical map.
        #expect(try decode(#"{"bb": 1, "a": 2, "c": 3}"#) == ["a": 2, "c": 3, "bb": 1])
    }

    @Test func parsesIntegersExactly() throws {
        let cases: [(String, Int64)] = [
            ("0", 0), ("-0", 0), ("7", 7), ("-7", -7), ("123.0", 123), ("1e2", 100), ("1E+2", 100),
            ("1.5e1", 15), ("100e-2", 1), ("0.1e1", 1), ("-2.50e1", -25), ("0e999999999999", 0), ("0.000", 0),
            ("9007199254740993", 9_007_199_254_740_993), ("9223372036854775807", Int64.max),
            ("-9223372036854775808", Int64.min), ("9.223372036854775807e18", Int64.max),
            ("-9223372036854775808.000", Int64.min),
        ]
        for (text, value) in cases {
            #expect(try decode(text) == .int(value), "\(text)")
        }
    }

    @Test func refusesFloatsAndOutOfRangeIntegers() {
        for text in ["1.5", "0.1", "-0.5", "1e-1", "123.456", "1.0000000000000000000001", "5e-324"] {
            #expect(throws: ATProtoJSONError.notAnInteger(offset: 0, number: text), "\(text)") { try decode(text) }
        }
        for text in ["9223372036854775808", "-9223372036854775809", "1e19", "1e999999999999", "99999999999999999999999"] {
            #expect(throws: ATProtoJSONError.integerOutOfRange(offset: 0, number: text), "\(text)") { try decode(text) }
        }
    }

    @Test func refusesMalformedNumbers() {
        for text in ["01", "+1", ".5", "1.", "-", "1e", "1e+", "--1", "0x10", "1.e5", "NaN", "Infinity", "-Infinity"] {
            #expect(throws: ATProtoJSONError.self, "\(text)") { try decode(text) }
        }
    }

    // MARK: Strings

    @Test func decodesEscapes() throws {
        #expect(try decode(#""\"\\\/\b\f\n\r\t""#) == .string("\"\\/\u{8}\u{c}\n\r\t"))
        #expect(try decode(#""caf\u00e9 \u00E9""#) == .string("café é"))
        #expect(try decode(#""\ud83d\ude00 x""#) == .string("😀 x"))
        #expect(try decode(#""a\u0000b""#) == .string("a\u{0}b"))
        #expect(try decode("\"日本語 😀 \\n\"") == .string("日本語 😀 \n"))
    }

    @Test func refusesBadStrings() {
        #expect(throws: ATProtoJSONError.invalidEscape(offset: 2)) { try decode(#""a\x""#) }
        #expect(throws: ATProtoJSONError.invalidEscape(offset: 1)) { try decode(#""\u12G4""#) }
        #expect(throws: ATProtoJSONError.unpairedSurrogate(offset: 1)) { try decode(#""\ud83d""#) }
        #expect(throws: ATProtoJSONError.unpairedSurrogate(offset: 1)) { try decode(#""\ud83d\u0041""#) }
        #expect(throws: ATProtoJSONError.unpairedSurrogate(offset: 1)) { try decode(#""\ude00""#) }
        #expect(throws: ATProtoJSONError.controlCharacterInString(offset: 2)) { try decode("\"a\nb\"") }
        #expect(throws: ATProtoJSONError.controlCharacterInString(offset: 3)) { try decode("\"\\n\u{1}\"") }
        #expect(throws: ATProtoJSONError.unexpectedEnd(offset: 4)) { try decode("\"abc") }
        #expect(throws: ATProtoJSONError.invalidUTF8(offset: 1)) { try ATProtoJSON.decode([0x22, 0xc3, 0x28, 0x22]) }
        #expect(throws: ATProtoJSONError.invalidUTF8(offset: 1)) {
            try ATProtoJSON.decode([0x22, 0x5c, 0x6e, 0xed, 0xa0, 0x80, 0x22])
        }
        // Single quotes are not JSON.
        #expect(throws: ATProtoJSONError.self) { try decode("'a'") }
    }

    // MARK: Structure

    @Test func refusesMalformedStructure() {
        let cases: [String] = [
            "", " ", "[1,]", "[1 2]", "{\"a\":1,}", "{\"a\" 1}", "{a:1}", "{\"a\":}", "[", "{", "]", "nul", "tru",
            "{\"a\":1 \"b\":2}", "[1]]", "\u{feff}{}", "{} {}", "[1,,2]", "{,}", "[,1]",
        ]
        for text in cases {
            #expect(throws: ATProtoJSONError.self, "\(text)") { try decode(text) }
        }
        #expect(throws: ATProtoJSONError.trailingCharacters(offset: 3)) { try decode("{} x") }
        #expect(throws: ATProtoJSONError.unexpectedCharacter(offset: 3, found: 0x5d, expected: "a JSON value")) {
            try decode("[1,]")
        }
    }

    @Test func refusesDuplicateKeys() {
        #expect(throws: ATProtoJSONError.duplicateKey(offset: 0, key: "a")) { try decode(#"{"a": 1, "a": 2}"#) }
        #expect(throws: ATProtoJSONError.duplicateKey(offset: 4, key: "b")) { try decode(#"[1, {"b": 1, "a": 0, "b": 2}]"#) }
    }

    @Test func limitsNestingWithoutOverflowingTheStack() throws {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(throws: ATProtoJSONError.nestingTooDeep(offset: 128, limit: 128)) { try decode(deep) }
        let deepObjects = String(repeating: #"{"a":"#, count: 100_000)
        #expect(throws: ATProtoJSONError.nestingTooDeep(offset: 5 * 128, limit: 128)) { try decode(deepObjects) }
        let ok = String(repeating: "[", count: 128) + String(repeating: "]", count: 128)
        #expect(try decode(ok) != .null)
        let tooDeep = String(repeating: "[", count: 129) + String(repeating: "]", count: 129)
        #expect(throws: ATProtoJSONError.nestingTooDeep(offset: 128, limit: 128)) { try decode(tooDeep) }
    }

    // MARK: $link, $bytes, $type, blobs

    @Test func decodesLinksAndBytes() throws {
        let cid = try CID(string: Self.cidString)
        #expect(try decode(#"{"$link": "\#(Self.cidString)"}"#) == .link(cid))
        #expect(try decode(#"{"$bytes": "AQID"}"#) == .bytes([1, 2, 3]))
        #expect(try decode(#"{"$bytes": "AQI"}"#) == .bytes([1, 2]))
        #expect(try decode(#"{"$bytes": ""}"#) == .bytes([]))
        #expect(try decode(#"{"$bytes": "AQI="}"#) == .bytes([1, 2]))
    }

    @Test func strictModeRefusesInexactSpecialObjects() {
        let bad: [(String, (ATProtoJSONError) -> Bool)] = [
            (#"{"$link": 5}"#, { if case .invalidLink = $0 { true } else { false } }),
            (#"{"$link": "bafyfoo"}"#, { if case .invalidLink = $0 { true } else { false } }),
            (#"{"$link": "\#(Self.cidString)", "x": 1}"#, { if case .invalidLink = $0 { true } else { false } }),
            (#"{"$link": "\#(Self.cidString) "}"#, { if case .invalidLink = $0 { true } else { false } }),
            (#"{"$bytes": "AQ$D"}"#, { if case .invalidBytes = $0 { true } else { false } }),
            (#"{"$bytes": "AQID", "$type": "x"}"#, { if case .invalidBytes = $0 { true } else { false } }),
            (#"{"$bytes": null}"#, { if case .invalidBytes = $0 { true } else { false } }),
            (#"{"$type": ""}"#, { if case .invalidType = $0 { true } else { false } }),
            (#"{"$type": ["a"]}"#, { if case .invalidType = $0 { true } else { false } }),
            (#"[{"a": {"$type": false}}]"#, { if case .invalidType(offset: 7) = $0 { true } else { false } }),
        ]
        for (json, matches) in bad {
            let error = #expect(throws: ATProtoJSONError.self, "\(json)") { try decode(json) }
            if let error { #expect(matches(error), "\(json): \(error)") }
        }
    }

    @Test func lenientModeKeepsInexactSpecialObjectsAsMaps() throws {
        #expect(try decode(#"{"$link": 5}"#, mode: .lenient) == ["$link": 5])
        #expect(try decode(#"{"$bytes": "AQID", "b": 1}"#, mode: .lenient) == ["$bytes": "AQID", "b": 1])
        #expect(try decode(#"{"$type": ""}"#, mode: .lenient) == ["$type": ""])
        #expect(try decode(#"{"$bytes": "AQID"}"#, mode: .lenient) == .bytes([1, 2, 3]))
        // Floats are never data.
        #expect(throws: ATProtoJSONError.notAnInteger(offset: 0, number: "1.5")) { try decode("1.5", mode: .lenient) }
    }

    @Test func checksBlobs() throws {
        let good = #"{"$type": "blob", "ref": {"$link": "\#(Self.blobCIDString)"}, "mimeType": "image/png", "size": 12}"#
        let value = try decode(good)
        #expect(try BlobRef(value) == BlobRef(ref: try CID(string: Self.blobCIDString), mimeType: "image/png", size: 12))
        let bad: [(String, BlobRefError)] = [
            (#"{"$type": "blob", "ref": "\#(Self.blobCIDString)", "mimeType": "a/b", "size": 1}"#,
             .wrongFieldType(field: "ref", expected: "a CID link")),
            (#"{"$type": "blob", "ref": {"$link": "\#(Self.blobCIDString)"}, "size": 1}"#, .missingField("mimeType")),
            (#"{"$type": "blob", "ref": {"$link": "\#(Self.blobCIDString)"}, "mimeType": "a/b"}"#, .missingField("size")),
            (#"{"$type": "blob", "ref": {"$link": "\#(Self.blobCIDString)"}, "mimeType": "a/b", "size": -1}"#, .negativeSize(-1)),
            (#"{"$type": "blob", "ref": {"$link": "\#(Self.blobCIDString)"}, "mimeType": "a/b", "size": 1, "x": 1}"#,
             .unexpectedField("x")),
            (#"{"$type": "blob", "ref": {"$link": "\#(Self.blobCIDString)"}, "mimeType": 5, "size": 1}"#,
             .wrongFieldType(field: "mimeType", expected: "a non-empty string")),
        ]
        for (json, reason) in bad {
            #expect(throws: ATProtoJSONError.invalidBlob(offset: 0, reason: reason), "\(json)") { try decode(json) }
            #expect(try decode(json, mode: .lenient) != .null)
        }
    }

    @Test func decodeRecordNeedsAnObject() throws {
        #expect(try ATProtoJSON.decodeRecord(Array(#"{"a": 1}"#.utf8)) == ["a": 1])
        #expect(throws: ATProtoJSONError.notAnObject(offset: 2)) { try ATProtoJSON.decodeRecord(Array("  [1]".utf8)) }
        #expect(throws: ATProtoJSONError.notAnObject(offset: 0)) { try ATProtoJSON.decodeRecord(Array("\"x\"".utf8)) }
        #expect(throws: ATProtoJSONError.notAnObject(offset: 0)) {
            try ATProtoJSON.decodeRecord(Array(#"{"$link": "\#(Self.cidString)"}"#.utf8))
        }
    }

    // MARK: Encoding

    @Test func encodesCompactJSON() throws {
        let cid = try CID(string: Self.cidString)
        let value: DataValue = [
            "text": "a\"b\\c\n\u{1}é😀/", "n": -5, "big": .int(Int64.min), "ok": true, "none": .null,
            "list": [1, .bytes([1, 2, 3, 4]), .link(cid)], "empty": [:],
        ]
        let expected = #"{"n":-5,"ok":true,"big":-9223372036854775808,"list":[1,{"$bytes":"AQIDBA"},{"$link":""#
            + Self.cidString + #""}],"none":null,"text":"a\"b\\c\n\u0001é😀/","empty":{}}"#
        #expect(ATProtoJSON.encodeString(value) == expected)
        #expect(ATProtoJSON.encode(value) == Array(expected.utf8))
        #expect(try decode(expected) == value)
        #expect(ATProtoJSON.encodeString(.string("\u{8}\u{c}\r\t\u{1f}\u{7f}")) == #""\b\f\r\t\u001f\#u{7f}""#)
    }

    @Test func errorMessagesAreReadable() {
        #expect(
            ATProtoJSONError.unexpectedCharacter(offset: 3, found: 0x5d, expected: "a JSON value").description
                == "unexpected ']' in JSON, expected a JSON value (at byte 3)")
        #expect(
            ATProtoJSONError.notAnInteger(offset: 0, number: "1.5").description
                == "number 1.5 is not an integer; atproto data has no floating-point numbers (at byte 0)")
        #expect(
            ATProtoJSONError.invalidBlob(offset: 9, reason: .missingField("size")).description
                == "invalid blob: blob reference is missing \"size\" (at byte 9)")
    }

    // MARK: Random round trips and fuzzing

    @Test func randomValuesRoundTrip() throws {
        var generator = RandomDataValues(seed: 0x150)
        for i in 0..<3000 {
            let value = generator.value(depth: 5)
            let json = ATProtoJSON.encode(value)
            #expect(try ATProtoJSON.decode(json, mode: .lenient) == value, "case \(i): \(String(decoding: json, as: UTF8.self))")
            // Agrees with the DAG-CBOR form.
            #expect(try DAGCBOR.decode(DAGCBOR.encode(value)) == value)
        }
    }

    /// Mutated JSON never crashes the parser, and whatever it accepts encodes
    /// and decodes back to the same value.
    @Test func mutatedJSONNeverCrashes() {
        var generator = RandomDataValues(seed: 0x15_0F)
        var rng = SeededGenerator(seed: 0x0DD_BA11)
        let alphabet = Array(#"{}[]",:\ 0123456789.eE+-tfnu$"#.utf8) + [0x00, 0x1f, 0x80, 0xc3, 0xff]
        var cases = 0
        var accepted = 0
        for _ in 0..<1500 {
            let original = ATProtoJSON.encode(generator.value(depth: 4))
            for _ in 0..<8 {
                var bytes = original
                let position = Int.random(in: 0..<bytes.count, using: &rng)
                switch Int.random(in: 0..<4, using: &rng) {
                case 0: bytes.removeLast(Int.random(in: 1...bytes.count, using: &rng))
                case 1: bytes[position] = alphabet.randomElement(using: &rng)!
                case 2: bytes.insert(alphabet.randomElement(using: &rng)!, at: position)
                default: bytes.remove(at: position)
                }
                cases += 1
                for mode in [ATProtoJSON.Mode.strict, .lenient] {
                    if let value = try? ATProtoJSON.decode(bytes, mode: mode) {
                        accepted += 1
                        #expect((try? ATProtoJSON.decode(ATProtoJSON.encode(value), mode: mode)) == value)
                    }
                }
            }
        }
        print("JSON fuzz: \(cases) mutated inputs, \(accepted) decodes accepted")
        #expect(cases == 12_000)
    }
}
