import Foundation
import LexiconFiles
import Testing

@testable import ATProto

/// The bundled catalog, built once for all tests of this file.
private let bundledCatalog = Result<LexiconCatalog, any Error> { try LexiconCatalog.bundled() }

/// Real Bluesky records validated against the bundled official Lexicons.
@Suite("Lexicon record validation")
struct LexiconValidationTests {
    static func catalog() throws -> LexiconCatalog { try bundledCatalog.get() }

    static let blobCID = "bafkreibme22gw2h7y2h7tg2fhqotaqjucnbc24deqo72b6mkl2egezxhvy"
    static let postCID = "bafyreiclp443lavogvhj3d2ob2cxbfuscni2k5jk7bebjzg7khl3esabwq"

    /// A post with facets of every kind, langs, a reply and an image.
    static let postJSON = """
        {
          "$type": "app.bsky.feed.post",
          "text": "Hello @alice.example.com! Read https://example.com/swift #swift 🇩🇪",
          "facets": [
            {"index": {"byteStart": 6, "byteEnd": 24},
             "features": [{"$type": "app.bsky.richtext.facet#mention", "did": "did:plc:ewvi7nxzyoun6zhxrhs64oiz"}]},
            {"index": {"byteStart": 31, "byteEnd": 56},
             "features": [{"$type": "app.bsky.richtext.facet#link", "uri": "https://example.com/swift"}]},
            {"index": {"byteStart": 57, "byteEnd": 63},
             "features": [{"$type": "app.bsky.richtext.facet#tag", "tag": "swift"}]}
          ],
          "langs": ["en", "de-DE"],
          "reply": {
            "root": {"uri": "at://did:plc:ewvi7nxzyoun6zhxrhs64oiz/app.bsky.feed.post/3l3qo2vuowo2b", "cid": "\(postCID)"},
            "parent": {"uri": "at://did:plc:ewvi7nxzyoun6zhxrhs64oiz/app.bsky.feed.post/3l3qo2vuowo2c", "cid": "\(postCID)"}
          },
          "embed": {
            "$type": "app.bsky.embed.images",
            "images": [{
              "image": {"$type": "blob", "ref": {"$link": "\(blobCID)"}, "mimeType": "image/jpeg", "size": 734521},
              "alt": "A cat on a keyboard",
              "aspectRatio": {"width": 1600, "height": 1200}
            }]
          },
          "labels": {"$type": "com.atproto.label.defs#selfLabels", "values": [{"val": "nudity"}]},
          "tags": ["cats"],
          "createdAt": "2024-11-23T03:12:45.123Z"
        }
        """

    static func post() throws -> DataMap {
        try ATProtoJSON.decodeRecord(Array(postJSON.utf8))
    }

    /// The validation error for `record` in `collection`, or `nil` if valid.
    static func error(_ collection: String, _ record: DataMap) throws -> LexiconValidationError? {
        do {
            #expect(try catalog().validateRecord(collection: collection, record: .map(record)) == .valid)
            return nil
        } catch let error as LexiconValidationError {
            return error
        }
    }

    @Test func realisticPostValidates() throws {
        let post = try Self.post()
        #expect(try Self.error("app.bsky.feed.post", post) == nil)
        #expect(
            try Self.catalog().validateRecord(
                collection: NSID("app.bsky.feed.post"), rkey: "3l3qo2vuowo2b", record: .map(post)) == .valid)
        // A post's key is a TID.
        #expect(throws: LexiconValidationError.self) {
            try Self.catalog().validateRecord(collection: "app.bsky.feed.post", rkey: "self", record: .map(post))
        }
    }

    @Test func postWith301GraphemesFails() throws {
        var post = try Self.post()
        post["facets"] = nil
        // 301 graphemes of 2–14 bytes each: under maxLength (3000 bytes),
        // over maxGraphemes (300).
        post["text"] = .string(String(repeating: "é", count: 300) + "👩‍👩‍👦‍👦")
        #expect(try Self.error("app.bsky.feed.post", post)?.message == "Record/text must not be longer than 300 graphemes")
        post["text"] = .string(String(repeating: "é", count: 300))
        #expect(try Self.error("app.bsky.feed.post", post) == nil)
        post["text"] = .string(String(repeating: "a", count: 301))
        #expect(try Self.error("app.bsky.feed.post", post)?.reason == .tooLong(maximum: 300, unit: .graphemes))
    }

    @Test func postMissingCreatedAtFails() throws {
        var post = try Self.post()
        post["createdAt"] = nil
        let error = try #require(try Self.error("app.bsky.feed.post", post))
        #expect(error.message == #"Record must have the property "createdAt""#)
        #expect(error.reason == .missingProperty("createdAt"))
    }

    @Test func postWithWrongTypeFails() throws {
        var post = try Self.post()
        post["$type"] = "app.bsky.feed.like"
        #expect(
            try Self.error("app.bsky.feed.post", post)?.message
                == "Invalid $type: must be app.bsky.feed.post, got app.bsky.feed.like")
        post["$type"] = nil
        #expect(try Self.error("app.bsky.feed.post", post)?.message == "Record/$type must be a string")
        #expect(throws: LexiconValidationError.self) {
            try Self.catalog().validateRecord(collection: "app.bsky.feed.post", record: "text")
        }
    }

    @Test func postWithBadDatetimeFails() throws {
        var post = try Self.post()
        post["createdAt"] = "2024-11-23 03:12:45"
        let error = try #require(try Self.error("app.bsky.feed.post", post))
        #expect(error.path == "Record/createdAt")
        #expect(error.message.hasPrefix("Record/createdAt must be a valid datetime ("))
        guard case .invalidFormat(.datetime, _) = error.reason else {
            Issue.record("wrong reason: \(error.reason)")
            return
        }
    }

    @Test func imageEmbedWithNonImageBlobFails() throws {
        var post = try Self.post()
        post["embed"] = try ATProtoJSON.decode(
            """
            {"$type": "app.bsky.embed.images", "images": [{"alt": "",
             "image": {"$type": "blob", "ref": {"$link": "\(Self.blobCID)"}, "mimeType": "application/pdf", "size": 1000}}]}
            """)
        #expect(
            try Self.error("app.bsky.feed.post", post)?.message
                == "Record/embed/images/0/image has MIME type application/pdf, which is not accepted here (accepted: image/*)")

        // Too large, and an alt text that is not a string.
        post["embed"] = try ATProtoJSON.decode(
            """
            {"$type": "app.bsky.embed.images", "images": [{"alt": "",
             "image": {"$type": "blob", "ref": {"$link": "\(Self.blobCID)"}, "mimeType": "image/png", "size": 2000001}}]}
            """)
        #expect(try Self.error("app.bsky.feed.post", post)?.reason == .blobTooLarge(size: 2_000_001, maxSize: 2_000_000))
        post["embed"] = try ATProtoJSON.decode(
            """
            {"$type": "app.bsky.embed.images", "images": [{"alt": 3,
             "image": {"$type": "blob", "ref": {"$link": "\(Self.blobCID)"}, "mimeType": "image/png", "size": 2}}]}
            """)
        #expect(try Self.error("app.bsky.feed.post", post)?.message == "Record/embed/images/0/alt must be a string")
    }

    @Test func unionTypes() throws {
        // The post's embed union is open: an unknown type passes unchecked.
        var post = try Self.post()
        post["embed"] = ["$type": "com.example.embed.poll", "options": 3]
        #expect(try Self.error("app.bsky.feed.post", post) == nil)
        // But a union member needs a $type.
        post["embed"] = ["images": []]
        #expect(
            try Self.error("app.bsky.feed.post", post)?.message
                == #"Record/embed must be an object which includes the "$type" property"#)
        // A known member is checked, `nsid#main` naming it too.
        post["embed"] = ["$type": "app.bsky.embed.images#main", "images": [1]]
        #expect(try Self.error("app.bsky.feed.post", post)?.message == "Record/embed/images/0 must be an object")

        // applyWrites takes a closed union of #create, #update, #delete.
        let catalog = try Self.catalog()
        let create: DataValue = [
            "$type": "com.atproto.repo.applyWrites#create", "collection": "app.bsky.feed.post",
            "value": .map(try Self.post()),
        ]
        let input: DataValue = ["repo": "alice.example.com", "writes": [create]]
        #expect(try catalog.validateInput(method: "com.atproto.repo.applyWrites", input: input) == .valid)
        let unknown: DataValue = ["$type": "com.atproto.repo.applyWrites#upsert", "collection": "app.bsky.feed.post"]
        do {
            _ = try catalog.validateInput(
                method: "com.atproto.repo.applyWrites", input: ["repo": "alice.example.com", "writes": [create, unknown]])
            Issue.record("closed union accepted an unknown $type")
        } catch {
            #expect(
                error.message
                    == "Input/writes/1 $type must be one of com.atproto.repo.applyWrites#create, com.atproto.repo.applyWrites#update, com.atproto.repo.applyWrites#delete, not com.atproto.repo.applyWrites#upsert"
            )
        }
    }

    @Test func otherRecordsValidate() throws {
        let profile = try ATProtoJSON.decodeRecord(
            Array(
                """
                {"$type": "app.bsky.actor.profile", "displayName": "Alice 🐈", "description": "Cats and Swift.",
                 "avatar": {"$type": "blob", "ref": {"$link": "\(Self.blobCID)"}, "mimeType": "image/png", "size": 48213},
                 "pinnedPost": {"uri": "at://did:plc:ewvi7nxzyoun6zhxrhs64oiz/app.bsky.feed.post/3l3qo2vuowo2b", "cid": "\(Self.postCID)"},
                 "createdAt": "2024-01-02T03:04:05Z"}
                """.utf8))
        #expect(try Self.error("app.bsky.actor.profile", profile) == nil)
        #expect(
            try Self.catalog().validateRecord(collection: "app.bsky.actor.profile", rkey: "self", record: .map(profile))
                == .valid)
        var gif = profile
        gif["avatar"] = ["$type": "blob", "ref": .link(try CID(string: Self.blobCID)), "mimeType": "image/gif", "size": 1]
        #expect(try Self.error("app.bsky.actor.profile", gif)?.path == "Record/avatar")

        let like = try ATProtoJSON.decodeRecord(
            Array(
                """
                {"$type": "app.bsky.feed.like", "createdAt": "2024-11-23T03:12:45.123Z",
                 "subject": {"uri": "at://did:plc:ewvi7nxzyoun6zhxrhs64oiz/app.bsky.feed.post/3l3qo2vuowo2b", "cid": "\(Self.postCID)"}}
                """.utf8))
        #expect(try Self.error("app.bsky.feed.like", like) == nil)
        var badLike = like
        badLike["subject"] = ["uri": "not a uri", "cid": .string(Self.postCID)]
        #expect(try Self.error("app.bsky.feed.like", badLike)?.path == "Record/subject/uri")

        let follow = try ATProtoJSON.decodeRecord(
            Array(
                """
                {"$type": "app.bsky.graph.follow", "subject": "did:plc:ewvi7nxzyoun6zhxrhs64oiz", "createdAt": "2024-11-23T03:12:45Z"}
                """.utf8))
        #expect(try Self.error("app.bsky.graph.follow", follow) == nil)
        var badFollow = follow
        badFollow["subject"] = "alice.example.com"
        #expect(try Self.error("app.bsky.graph.follow", badFollow)?.path == "Record/subject")
    }

    @Test func unknownCollection() throws {
        let catalog = try Self.catalog()
        let record: DataValue = ["$type": "com.example.thing", "anything": [1, 2, 3]]
        #expect(try catalog.validateRecord(collection: "com.example.thing", record: record) == .unknownLexicon)
        // The $type must still match the collection.
        #expect(throws: LexiconValidationError.self) {
            try catalog.validateRecord(collection: "com.example.other", record: record)
        }
        #expect(throws: LexiconValidationError.self) {
            try catalog.validateRecord(collection: "not an nsid", record: record)
        }
    }

    @Test func methodBodiesAndParameters() throws {
        let catalog = try Self.catalog()
        let createRecord: DataValue = [
            "repo": "did:plc:ewvi7nxzyoun6zhxrhs64oiz", "collection": "app.bsky.feed.post",
            "record": .map(try Self.post()),
        ]
        #expect(try catalog.validateInput(method: "com.atproto.repo.createRecord", input: createRecord) == .valid)
        let post = try Self.post()
        do {
            _ = try catalog.validateInput(method: "com.atproto.repo.createRecord", input: ["repo": "alice.example.com", "record": .map(post)])
            Issue.record("accepted")
        } catch {
            #expect(error.message == #"Input must have the property "collection""#)
        }
        #expect(try catalog.validateInput(method: "com.example.nothing", input: [:]) == .unknownLexicon)
        #expect(throws: LexiconValidationError.self) {
            try catalog.validateInput(method: "app.bsky.feed.getTimeline", input: [:])
        }
        // uploadBlob takes raw bytes, not JSON.
        #expect(throws: LexiconValidationError.self) {
            try catalog.validateInput(method: "com.atproto.repo.uploadBlob", input: [:])
        }

        #expect(try catalog.validateParameters(method: "app.bsky.feed.getTimeline", parameters: ["limit": 50]) == .valid)
        do {
            _ = try catalog.validateParameters(method: "app.bsky.feed.getTimeline", parameters: ["limit": 500])
            Issue.record("accepted")
        } catch {
            #expect(error.message == "Params/limit can not be greater than 100")
        }
        #expect(
            try catalog.validateOutput(
                method: "com.atproto.repo.createRecord",
                output: ["uri": "at://did:plc:ewvi7nxzyoun6zhxrhs64oiz/app.bsky.feed.post/3l3qo2vuowo2b", "cid": .string(Self.postCID)])
                == .valid)

        // Any definition can be checked directly.
        #expect(try catalog.validate(["width": 1, "height": 2], against: "app.bsky.embed.defs#aspectRatio") == .valid)
        #expect(throws: LexiconValidationError.self) {
            try catalog.validate(["width": 0, "height": 2], against: "app.bsky.embed.defs#aspectRatio")
        }
    }

    @Test func lookup() throws {
        let catalog = try Self.catalog()
        let post = try #require(catalog.recordDefinition(collection: NSID("app.bsky.feed.post")))
        #expect(post.key == .tid)
        guard case .string(let text)? = post.record.properties["text"]?.type else {
            Issue.record("no text")
            return
        }
        #expect(text.maxGraphemes == 300 && text.maxLength == 3000)
        #expect(catalog.definition("app.bsky.richtext.facet#mention") != nil)
        #expect(catalog.definition("app.bsky.richtext.facet") == catalog.definition("app.bsky.richtext.facet#main"))
        #expect(catalog.definition("app.bsky.richtext.facet#nope") == nil)
        let local = try #require(LexiconRef("#replyRef"))
        let postNSID = try NSID("app.bsky.feed.post")
        #expect(catalog.resolve(local, from: postNSID) != nil)
        #expect(catalog.resolve(local) == nil)
        #expect(LexiconRef("a.b.c#x#y") == nil && LexiconRef("#") == nil && LexiconRef("nsid") == nil)
        #expect(LexiconRecordKey("literal:self") == .literal("self") && LexiconRecordKey("literal:.") == nil)
        #expect(LexiconBlob(accept: ["image/*"]).accepts(mimeType: "IMAGE/PNG"))
        #expect(!LexiconBlob(accept: ["image/*"]).accepts(mimeType: "image/"))
        #expect(LexiconBlob(accept: ["*/*"]).accepts(mimeType: "video/mp4"))
    }
}
