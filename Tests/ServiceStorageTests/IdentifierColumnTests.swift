import ATProto
import Foundation
import GRDB
import ServiceStorage
import Testing

/// DIDs, NSIDs, record keys and handles go into TEXT columns as their
/// strings and come back typed, so stores take and return them without
/// `.string` at every argument.
@Suite("Identifier columns")
struct IdentifierColumnTests {
    @Test func identifiersBindAsTextAndReadBackTyped() throws {
        let queue = try DatabaseQueue()
        try queue.write { db in
            try db.execute(sql: "CREATE TABLE r (did TEXT, collection TEXT, rkey TEXT, handle TEXT)")
            let did = try DID("did:plc:ewvi7nxzyoun6zhxrhs64oiz")
            try db.execute(
                sql: "INSERT INTO r VALUES (?, ?, ?, ?)",
                arguments: [did, try NSID("app.bsky.feed.post"), try RecordKey("3l3qo2vutsw2b"), try Handle("alice.example.com")])
            try db.execute(sql: "INSERT INTO r VALUES (NULL, NULL, NULL, NULL)")

            // Stored as the plain strings: SQL and other readers see text.
            #expect(try String.fetchOne(db, sql: "SELECT did || ' ' || collection || '/' || rkey || ' ' || handle FROM r LIMIT 1")
                == "did:plc:ewvi7nxzyoun6zhxrhs64oiz app.bsky.feed.post/3l3qo2vutsw2b alice.example.com")
            #expect(try String.fetchOne(db, sql: "SELECT typeof(did) FROM r LIMIT 1") == "text")

            // Back as the types, equal to what went in; NULL reads as nil.
            let row = try #require(try Row.fetchOne(db, sql: "SELECT * FROM r LIMIT 1"))
            #expect(row["did"] as DID == did)
            #expect(row["collection"] as NSID == (try NSID("app.bsky.feed.post")))
            #expect(row["rkey"] as RecordKey == (try RecordKey("3l3qo2vutsw2b")))
            #expect(row["handle"] as Handle == (try Handle("alice.example.com")))
            #expect(try DID.fetchAll(db, sql: "SELECT did FROM r WHERE did = ?", arguments: [did]) == [did])
            #expect(try DID?.fetchAll(db, sql: "SELECT did FROM r ORDER BY did IS NULL DESC") == [nil, did])
            // A non-text value is not an identifier.
            #expect(DID.fromDatabaseValue(1.databaseValue) == nil)
        }
    }
}
