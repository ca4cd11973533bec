import Foundation
import Testing

@testable import ATProto

/// Accessors, error messages and coding of the identifier types.
@Suite("Syntax types")
struct SyntaxTypeTests {
    /// The message of the `SyntaxError` that `body` throws.
    func message(_ body: () throws -> Void) -> String? {
        do {
            try body()
            return nil
        } catch let error as SyntaxError {
            return error.message
        } catch {
            return "unexpected error: \(error)"
        }
    }

    @Test func syntaxErrorMessage() {
        #expect(
            message { _ = try Handle("foo") }
                == "invalid handle 'foo': a handle needs at least two labels separated by dots")
        do {
            _ = try DID("did:METHOD:val")
            Issue.record("should throw")
        } catch {
            #expect(error.kind == .did)
            #expect(error.value == "did:METHOD:val")
            #expect(error.reason == "the DID method may only contain lower-case letters a-z")
            #expect(error.description == error.message)
            #expect(error.localizedDescription == error.message)
        }
        // Long values are cut, control characters escaped.
        let long = String(repeating: "o", count: 600)
        let error = SyntaxError(kind: .recordKey, value: long, reason: "too long")
        #expect(error.value == String(repeating: "o", count: 64) + "… (600 characters)")
        #expect(SyntaxError(kind: .uri, value: "a\nb", reason: "x").value == "a\\nb")
    }

    @Test func did() throws {
        let plc = try DID("did:plc:7iza6de2dwap2sbkpav7c6c6")
        #expect(plc.method == "plc")
        #expect(plc.identifier == "7iza6de2dwap2sbkpav7c6c6")
        #expect(plc.isPLC && !plc.isWeb)
        #expect(try !DID("did:plc:7iza6de2dwap2sbkpav7c6c").isPLC)  // 22 chars
        #expect(try !DID("did:plc:7iza6de2dwap2sbkpav7c6c1").isPLC)  // '1' is not base32
        #expect(try !DID("did:plc:7IZA6DE2DWAP2SBKPAV7C6C6").isPLC)
        let web = try DID("did:web:example.com")
        #expect(web.isWeb && web.webHost == "example.com" && !web.isPLC)
        #expect(try DID("did:web:localhost%3A1234").webHost == "localhost:1234")
        #expect(try DID("did:web:example.com:u:alice").isWeb == false)
        #expect(try DID("did:web:example.com%3A").isWeb == false)
        #expect(try DID("did:method::a:b").identifier == ":a:b")
        #expect(message { _ = try DID("did:method:val%") } == "invalid DID 'did:method:val%': a DID can't end with ':' or '%'")
        #expect(message { _ = try DID("did:plc:") }?.contains("identifier can't be empty") == true)
        #expect(message { _ = try DID("DID:plc:x") }?.contains("must start with 'did:'") == true)
        #expect(message { _ = try DID("did:plc:a b") }?.contains("may only contain") == true)
        #expect(!DID.isValid("did:x:" + String(repeating: "a", count: 2043)))
        #expect(DID.isValid("did:x:" + String(repeating: "a", count: 2042)))
    }

    @Test func handle() throws {
        let handle = try Handle("Alice.Bsky.Social")
        #expect(handle.normalized.string == "alice.bsky.social")
        #expect(handle == (try Handle("alice.bsky.social")))
        #expect(Set([handle, try Handle("ALICE.bsky.social")]).count == 1)
        #expect(handle.string == "Alice.Bsky.Social" && handle.description == "Alice.Bsky.Social")
        #expect(handle.labels == ["Alice", "Bsky", "Social"])
        #expect(handle.tld == "social")
        #expect(!handle.isDisallowedTLD && !handle.isReserved)
        for name in ["laptop.local", "x.arpa", "a.invalid", "a.localhost", "a.internal", "a.example", "a.alt", "x.ONION"] {
            #expect(try Handle(name).isDisallowedTLD, "\(name)")
            #expect(try Handle(name).isReserved, "\(name)")
        }
        #expect(try !Handle("alice.test").isDisallowedTLD)
        #expect(try Handle("alice.test").isReserved)
        #expect(try Handle("Handle.Invalid").isInvalidHandleMarker)
        #expect(try !Handle("handle.invalid.com").isInvalidHandleMarker)
        #expect(message { _ = try Handle("john.0") }?.hasSuffix("(the top-level domain) can't start with a digit") == true)
        #expect(message { _ = try Handle("-john.test") }?.hasSuffix("can't start or end with a hyphen") == true)
        #expect(message { _ = try Handle("john..test") }?.contains("two dots in a row") == true)
        #expect(message { _ = try Handle("jo_hn.test") }?.contains("may only contain") == true)
        #expect(message { _ = try Handle("") } == "invalid handle '': a handle can't be empty")
    }

    @Test func nsid() throws {
        let nsid = try NSID("App.Bsky.feed.getPostThread")
        #expect(nsid.authority == "App.Bsky.feed")
        #expect(nsid.name == "getPostThread")
        #expect(nsid.domainAuthority == "feed.bsky.app")
        #expect(nsid.normalized.string == "app.bsky.feed.getPostThread")
        #expect(message { _ = try NSID("com.example") }?.contains("at least three segments") == true)
        #expect(message { _ = try NSID("com.example.fooBar.2") }?.contains("can't start with a digit") == true)
        #expect(message { _ = try NSID("a-0.b-1.c-3") }?.contains("only contain letters and digits") == true)
        #expect(message { _ = try NSID("0two.example.foo") }?.contains("top-level domain") == true)
        #expect(message { _ = try NSID("com." + String(repeating: "o", count: 64) + ".foo") }?.contains("at most 63") == true)
        let long = "com" + String(repeating: ".middle", count: 45) + ".foo"
        #expect(long.count == 322)
        #expect(message { _ = try NSID(long) }?.contains("at most 317 characters") == true)
    }

    @Test func recordKey() throws {
        #expect(try RecordKey("self").string == "self")
        let tid = TID(timestampMicros: 1_700_000_000_000_000, clockID: 7)
        #expect(RecordKey(tid).string == tid.string)
        #expect(RecordKey.isValid(tid.string))
        #expect(message { _ = try RecordKey("..") } == "invalid record key '..': a record key can't be '.' or '..'")
        #expect(message { _ = try RecordKey("") }?.contains("can't be empty") == true)
        #expect(message { _ = try RecordKey("a/b") }?.contains("may only contain") == true)
    }

    @Test func atURI() throws {
        let uri = try ATURI("at://did:plc:asdf123/app.bsky.feed.post/3jzfcijpj2z2a")
        #expect(uri.authority == .did(try DID("did:plc:asdf123")))
        #expect(uri.authority.did?.method == "plc")
        #expect(uri.collection == (try NSID("app.bsky.feed.post")))
        #expect(uri.recordKey == (try RecordKey("3jzfcijpj2z2a")))
        let repo = try ATURI("at://alice.test")
        #expect(repo.authority.handle == (try Handle("alice.test")))
        #expect(repo.collection == nil && repo.recordKey == nil)
        let collection = try ATURI("at://alice.test/app.bsky.feed.like")
        #expect(collection.collection?.name == "like" && collection.recordKey == nil)
        let built = ATURI(
            authority: .did(try DID("did:plc:asdf123")), collection: try NSID("app.bsky.feed.post"),
            recordKey: try RecordKey("3jzfcijpj2z2a"))
        #expect(built == uri && built.string == uri.string)
        #expect(ATURI(authority: .handle(try Handle("alice.test"))).string == "at://alice.test")
        #expect(message { _ = try ATURI("at://did:plc:asdf123/") }?.contains("can't end with a slash") == true)
        #expect(message { _ = try ATURI("http://x.test") }?.contains("must start with 'at://'") == true)
        #expect(message { _ = try ATURI("at://did:plc:x/a.b.c/d/e") }?.contains("at most two path segments") == true)
        #expect(message { _ = try ATURI("at://did:plc:x/a.b.c#/frag") }?.contains("fragment") == true)
        #expect(message { _ = try ATURI("at://did:plc:x/a.b.c/%23") }?.contains("record key is not valid") == true)
        #expect(message { _ = try ATURI("at://name") }?.contains("neither a DID nor a valid handle") == true)
        #expect(message { _ = try ATURI("at://did:plc:") }?.contains("not a valid DID") == true)
    }

    @Test func atIdentifier() throws {
        #expect(try ATIdentifier("did:plc:abc").did?.string == "did:plc:abc")
        #expect(try ATIdentifier("alice.test").handle?.string == "alice.test")
        #expect(try ATIdentifier("alice.test").did == nil)
        #expect(message { _ = try ATIdentifier("blah") }
            == "invalid AT identifier 'blah': not a DID, and not a valid handle (a handle needs at least two labels separated by dots)")
        #expect(message { _ = try ATIdentifier("did:x") }?.contains("not a valid DID") == true)
    }

    @Test func datetime() throws {
        let dt = try ATDatetime("1985-04-12T23:20:50.123Z")
        #expect(abs(dt.date.timeIntervalSince1970 - 482_196_050.123) < 1e-6)
        let offset = try ATDatetime("1985-04-12T23:20:50.123-07:00")
        #expect(abs(offset.date.timeIntervalSince(dt.date) - 7 * 3600) < 1e-6)
        #expect(try ATDatetime("1970-01-01T00:00:00Z").date.timeIntervalSince1970 == 0)
        #expect(try ATDatetime("0000-01-01T00:00:00Z").date.timeIntervalSince1970 == -62_167_219_200)
        #expect(ATDatetime.isValid("2000-02-29T00:00:00Z"))
        #expect(!ATDatetime.isValid("1900-02-29T00:00:00Z") && ATDatetime.isValidSyntax("1900-02-29T00:00:00Z"))
        #expect(!ATDatetime.isValid("2001-04-31T00:00:00Z"))
        #expect(!ATDatetime.isValid("2001-04-01T24:00:00Z"))
        #expect(!ATDatetime.isValid("2001-04-01T00:00:00+24:00"))
        #expect(message { _ = try ATDatetime("1985-04-12T23:20:60Z") }?.contains("leap seconds") == true)
        #expect(message { _ = try ATDatetime("1985-13-12T23:20:50Z") } == "invalid datetime '1985-13-12T23:20:50Z': the month must be between 01 and 12")
        #expect(message { _ = try ATDatetime("1985-04-12T23:20:50") }?.contains("needs a timezone") == true)
        #expect(message { _ = try ATDatetime("1985-04-12t23:20:50Z") }?.contains("upper-case 'T'") == true)
        #expect(message { _ = try ATDatetime("1985-04-12T23:20:50z") }?.contains("upper-case 'Z'") == true)
        #expect(message { _ = try ATDatetime("1985-04-12T23:20:50-00:00") }?.contains("'-00:00' is not allowed") == true)
        #expect(message { _ = try ATDatetime("0000-01-01T00:00:00+01:00") }?.contains("before the year 0000") == true)

        #expect(ATDatetime.format(Date(timeIntervalSince1970: 0)) == "1970-01-01T00:00:00.000Z")
        #expect(ATDatetime.format(Date(timeIntervalSince1970: 482_196_050.123)) == "1985-04-12T23:20:50.123Z")
        #expect(ATDatetime.format(Date(timeIntervalSince1970: -0.001)) == "1969-12-31T23:59:59.999Z")
        #expect(ATDatetime.format(Date(timeIntervalSince1970: 951_782_400.5)) == "2000-02-29T00:00:00.500Z")
        #expect(ATDatetime.format(Date(timeIntervalSince1970: 1e12)) == "9999-12-31T23:59:59.999Z")
        #expect(ATDatetime.format(Date(timeIntervalSince1970: -1e12)) == "0000-01-01T00:00:00.000Z")
        let now = ATDatetime.now()
        #expect(now.string.utf8.count == 24 && now.string.hasSuffix("Z"))
        #expect(abs(now.date.timeIntervalSinceNow) < 5)
        let reparsed = try ATDatetime(now.string)
        #expect(reparsed == now)
        // Round trip through the calendar arithmetic, day by day over 4 centuries.
        for day in stride(from: -719_528, to: 2_932_897, by: 97) {
            let (y, m, d) = ATDatetime.civilFromDays(day)
            #expect(ATDatetime.daysFromCivil(year: y, month: m, day: d) == day)
        }
    }

    @Test func languageTag() throws {
        let tag = try LanguageTag("pt-BR")
        #expect(tag.language == "pt" && tag.subtags == ["pt", "BR"] && !tag.isPrivateUse)
        #expect(try LanguageTag("X-fr-CH").isPrivateUse)
        #expect(try LanguageTag("i-default").language == "i")
        #expect(message { _ = try LanguageTag("de-DE-1901-1901") } == "invalid language tag 'de-DE-1901-1901': the variant '1901' appears more than once")
        #expect(message { _ = try LanguageTag("en-u-co-phonebk-U-ca-buddhist") }?.contains("extension 'u' appears more than once") == true)
        #expect(LanguageTag.isValid("en-x-a-a"))  // private use is not checked
        #expect(LanguageTag.isValid("en-a-bbbbb-bbbbb"))  // extension subtags are not variants
        #expect(message { _ = try LanguageTag("JA") }?.contains("lower case") == true)
        #expect(message { _ = try LanguageTag("ja-") }?.contains("hyphen") == true)
        #expect(message { _ = try LanguageTag("x") }?.contains("followed by") == true)
        #expect(message { _ = try LanguageTag("en-abcdefghi") }?.contains("at most 8") == true)
    }

    @Test func uriString() throws {
        #expect(try URIString("HTTPS://example.com").scheme == "https")
        #expect(URIString.isValid("file:///etc/hosts"))
        #expect(!URIString.isValid("http://"))
        #expect(!URIString.isValid("https://example.com/\u{00A0}x"))
        #expect(URIString.isValid("https://example.com/ünïcode"))
        #expect(message { _ = try URIString("example.com") }?.contains("scheme followed by ':'") == true)
        #expect(message { _ = try URIString("https://a b") }?.contains("spaces") == true)
    }

    @Test func cidSyntax() {
        #expect(CIDSyntax.isValid("bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm"))
        #expect(!CIDSyntax.isValid("QmbWqxBEKC3P8tqsKc98xmWNzrzDtRLMiMPL8wBuTGsMnR"))
        #expect(message { try CIDSyntax.validate("noop") } == "invalid CID 'noop': a CID is at least 8 characters long")
    }

    struct Record: Codable, Equatable {
        var did: DID
        var handle: Handle
        var nsid: NSID
        var rkey: RecordKey
        var uri: ATURI
        var createdAt: ATDatetime
        var lang: LanguageTag
        var rev: TID
        var actor: ATIdentifier
        var link: URIString
    }

    @Test func codableAsPlainStrings() throws {
        let json = """
            {"did":"did:plc:abc","handle":"alice.test","nsid":"app.bsky.feed.post","rkey":"self",\
            "uri":"at://did:plc:abc/app.bsky.feed.post/self","createdAt":"2024-01-02T03:04:05.678Z",\
            "lang":"en-GB","rev":"3jzfcijpj2z2a","actor":"alice.test","link":"https://example.com"}
            """
        let record = try JSONDecoder().decode(Record.self, from: Data(json.utf8))
        #expect(record.actor == .handle(try Handle("alice.test")))
        #expect(record.rev == (try TID("3jzfcijpj2z2a")))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let again = try JSONDecoder().decode(Record.self, from: encoder.encode(record))
        #expect(again == record)
        let object = try JSONSerialization.jsonObject(with: encoder.encode(record)) as? [String: String]
        #expect(object?["uri"] == "at://did:plc:abc/app.bsky.feed.post/self")

        let bad = json.replacingOccurrences(of: "\"alice.test\",\"nsid\"", with: "\"alice\",\"nsid\"")
        do {
            _ = try JSONDecoder().decode(Record.self, from: Data(bad.utf8))
            Issue.record("decoding an invalid handle should fail")
        } catch let DecodingError.dataCorrupted(context) {
            #expect(context.underlyingError as? SyntaxError == SyntaxError(kind: .handle, value: "alice", reason: "a handle needs at least two labels separated by dots"))
            #expect(context.codingPath.map(\.stringValue) == ["handle"])
        }
    }
}
