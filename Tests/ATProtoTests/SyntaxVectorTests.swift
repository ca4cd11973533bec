import Foundation
import TestSupport
import Testing

@testable import ATProto

/// Runs every list in `Tests/Fixtures/interop/syntax/` (the canonical set).
/// The expected counts are those of the fixture README's table, so a lost
/// vector fails the test.
@Suite("Syntax interop vectors")
struct SyntaxVectorTests {
    /// A value shortened for a failure message.
    static func shown(_ value: String) -> String {
        "'\(SyntaxError.displayForm(of: value))'"
    }

    /// The verdict of one type on one value, checking that `isValid`, the
    /// throwing initializer and the string round trip agree.
    static func verdict(
        _ value: String,
        isValid: (String) -> Bool,
        parse: (String) throws -> any CustomStringConvertible,
        sourceLocation: SourceLocation = #_sourceLocation
    ) -> Bool {
        let quick = isValid(value)
        let parsed: (any CustomStringConvertible)?
        do {
            parsed = try parse(value)
        } catch {
            parsed = nil
            #expect(error is SyntaxError, "\(shown(value)) threw \(error)", sourceLocation: sourceLocation)
        }
        #expect(
            quick == (parsed != nil), "isValid and init disagree on \(shown(value))",
            sourceLocation: sourceLocation)
        if let parsed {
            #expect(
                parsed.description == value, "\(shown(value)) does not print back as itself",
                sourceLocation: sourceLocation)
        }
        return quick
    }

    /// Checks one `<name>_syntax_valid.txt` / `_invalid.txt` pair.
    static func run(
        _ name: String, valid expectedValid: Int, invalid expectedInvalid: Int,
        isValid: @escaping (String) -> Bool,
        parse: @escaping (String) throws -> any CustomStringConvertible,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let valid = try Fixtures.lines("interop/syntax/\(name)_syntax_valid.txt")
        let invalid = try Fixtures.lines("interop/syntax/\(name)_syntax_invalid.txt")
        #expect(valid.count == expectedValid, "\(name): valid vectors", sourceLocation: sourceLocation)
        #expect(invalid.count == expectedInvalid, "\(name): invalid vectors", sourceLocation: sourceLocation)
        for value in valid {
            let ok = verdict(value, isValid: isValid, parse: parse, sourceLocation: sourceLocation)
            #expect(ok, "\(name) should accept \(shown(value))", sourceLocation: sourceLocation)
        }
        for value in invalid {
            let ok = verdict(value, isValid: isValid, parse: parse, sourceLocation: sourceLocation)
            #expect(!ok, "\(name) should reject \(shown(value))", sourceLocation: sourceLocation)
        }
        print("syntax \(name): \(valid.count) valid, \(invalid.count) invalid")
    }

    @Test func did() throws {
        try Self.run("did", valid: 24, invalid: 18, isValid: DID.isValid, parse: { try DID($0) })
    }

    @Test func handle() throws {
        try Self.run("handle", valid: 71, invalid: 48, isValid: Handle.isValid, parse: { try Handle($0) })
    }

    @Test func nsid() throws {
        try Self.run("nsid", valid: 25, invalid: 27, isValid: NSID.isValid, parse: { try NSID($0) })
    }

    @Test func recordKey() throws {
        try Self.run(
            "recordkey", valid: 16, invalid: 11, isValid: RecordKey.isValid, parse: { try RecordKey($0) })
    }

    @Test func atURI() throws {
        try Self.run("aturi", valid: 23, invalid: 72, isValid: ATURI.isValid, parse: { try ATURI($0) })
    }

    @Test func atIdentifier() throws {
        try Self.run(
            "atidentifier", valid: 11, invalid: 22, isValid: ATIdentifier.isValid,
            parse: { try ATIdentifier($0) })
    }

    @Test func tid() throws {
        try Self.run("tid", valid: 4, invalid: 9, isValid: TID.isValid, parse: { try TID($0) })
    }

    @Test func uri() throws {
        try Self.run("uri", valid: 9, invalid: 12, isValid: URIString.isValid, parse: { try URIString($0) })
    }

    @Test func cid() throws {
        try Self.run(
            "cid", valid: 8, invalid: 10, isValid: CIDSyntax.isValid,
            parse: { value in
                try CIDSyntax.validate(value)
                return value
            })
    }

    @Test func datetime() throws {
        try Self.run(
            "datetime", valid: 35, invalid: 45, isValid: ATDatetime.isValidSyntax,
            parse: { try ATDatetime($0) })
        let valid = try Fixtures.lines("interop/syntax/datetime_syntax_valid.txt")
        for value in valid {
            #expect(ATDatetime.isValid(value), "\(Self.shown(value)) should also be semantically valid")
        }
        let parseInvalid = try Fixtures.lines("interop/syntax/datetime_parse_invalid.txt")
        #expect(parseInvalid.count == 7)
        for value in parseInvalid {
            #expect(ATDatetime.isValidSyntax(value), "\(Self.shown(value)) should pass the syntax check")
            #expect(!ATDatetime.isValid(value), "\(Self.shown(value)) should fail the semantic parse")
            #expect(throws: SyntaxError.self, "\(Self.shown(value)) should not parse") {
                try ATDatetime(value)
            }
        }
        print("parse datetime: \(parseInvalid.count) parse-invalid")
    }

    @Test func language() throws {
        try Self.run(
            "language", valid: 18, invalid: 7, isValid: LanguageTag.isValidSyntax,
            parse: { try LanguageTag($0) })
        let valid = try Fixtures.lines("interop/syntax/language_syntax_valid.txt")
        for value in valid {
            #expect(LanguageTag.isValid(value), "\(Self.shown(value)) should also be semantically valid")
        }
        let parseInvalid = try Fixtures.lines("interop/syntax/language_parse_invalid.txt")
        #expect(parseInvalid.count == 4)
        for value in parseInvalid {
            #expect(LanguageTag.isValidSyntax(value), "\(Self.shown(value)) should pass the syntax check")
            #expect(!LanguageTag.isValid(value), "\(Self.shown(value)) should fail the semantic parse")
            #expect(throws: SyntaxError.self, "\(Self.shown(value)) should not parse") {
                try LanguageTag(value)
            }
        }
        print("parse language: \(parseInvalid.count) parse-invalid")
    }

    /// The canonical lists must stay where the README says they differ from
    /// the monorepo's copies (so a swapped file is noticed).
    @Test func canonicalSetOnDisputedValues() throws {
        #expect(try Fixtures.lines("interop/syntax/datetime_syntax_valid.txt").contains("0000-01-01T00:00:00.000Z"))
        #expect(try Fixtures.lines("interop/syntax/datetime_parse_invalid.txt").contains("0000-01-01T00:00:00+01:00"))
        #expect(try Fixtures.lines("interop/syntax/language_syntax_invalid.txt").contains("JA"))
        #expect(try Fixtures.lines("interop/syntax/tid_syntax_invalid.txt").contains("3JZFCIJPJ2Z2A"))
        // Values only the monorepo's copies list; this implementation's verdicts.
        #expect(ATDatetime.isValidSyntax("0000-01-01T00:00:00+01:00"))
        #expect(!ATDatetime.isValid("0000-01-01T00:00:00+01:00"))
        #expect(!LanguageTag.isValidSyntax("JA") && !LanguageTag.isValidSyntax("jaja"))
        #expect(LanguageTag.isValidSyntax("de-419-DE"))
        #expect(TID.isValid("a222222222222") && TID.isValid("j222222222222"))
        #expect(TID.isValid("azzzzzzzzzzzz"))
    }

    /// The monorepo's copies of seven lists classify a few values
    /// differently; this pins down exactly where this implementation (which
    /// follows the canonical set) disagrees with them.
    @Test func monorepoCopies() throws {
        let dir = "interop/atproto-monorepo/interop-test-files/syntax/"
        var disagreements: [String] = []
        func check(_ file: String, expected: Int, want: Bool, _ accepts: (String) -> Bool) throws {
            let values = try Fixtures.lines(dir + file)
            #expect(values.count == expected, "\(file): vector count")
            for value in values where accepts(value) != want {
                disagreements.append("\(file): \(value)")
            }
        }
        try check("datetime_syntax_valid.txt", expected: 33, want: true, ATDatetime.isValidSyntax)
        try check("datetime_syntax_invalid.txt", expected: 46, want: false, ATDatetime.isValidSyntax)
        try check("datetime_parse_invalid.txt", expected: 6, want: false, ATDatetime.isValid)
        try check("language_syntax_invalid.txt", expected: 6, want: false, LanguageTag.isValidSyntax)
        try check("language_parse_invalid.txt", expected: 6, want: true, LanguageTag.isValidSyntax)
        try check("language_parse_invalid.txt", expected: 6, want: false, LanguageTag.isValid)
        try check("tid_syntax_valid.txt", expected: 6, want: true, TID.isValid)
        try check("tid_syntax_invalid.txt", expected: 7, want: false, TID.isValid)
        #expect(
            disagreements.sorted() == [
                "datetime_syntax_invalid.txt: 0000-01-01T00:00:00+01:00",
                "language_parse_invalid.txt: JA",
                "language_parse_invalid.txt: jaja",
                "language_syntax_invalid.txt: de-419-DE",
            ])
        print("monorepo copies: \(disagreements.count) disputed values classified per the canonical set")
    }
}
