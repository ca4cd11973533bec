import ATProto
import Foundation
import GRDB

@testable import PDS

/// Helpers for the account-management tests: admin calls, logins, writes
/// and direct looks at the database.
extension TestServer {
    public static let adminAuth = "Basic " + Data("admin:admin-secret".utf8).base64EncodedString()

    /// An XRPC procedure with HTTP basic auth (`authorization` overrides the admin's).
    public func adminProcedure(_ nsid: String, _ input: DataValue, authorization: String? = TestServer.adminAuth) async throws -> Reply {
        var headers: [String: String] = [:]
        if let authorization { headers["Authorization"] = authorization }
        return try await request("POST", "/xrpc/" + nsid, body: ATProtoJSON.encode(input), contentType: "application/json", headers: headers)
    }

    /// An XRPC query with HTTP basic auth.
    public func adminQuery(_ nsid: String, _ params: [(String, String)], authorization: String? = TestServer.adminAuth) async throws -> Reply {
        var headers: [String: String] = [:]
        if let authorization { headers["Authorization"] = authorization }
        return try await request("GET", "/xrpc/" + nsid, query: params, headers: headers)
    }

    /// `createSession`.
    public func login(_ identifier: String, _ password: String) async throws -> Reply {
        try await procedure("com.atproto.server.createSession", ["identifier": .string(identifier), "password": .string(password)])
    }

    /// Creates a post in `did`'s repository.
    public func post(_ did: String, _ text: String, token: String) async throws -> Reply {
        try await procedure(
            "com.atproto.repo.createRecord",
            [
                "repo": .string(did), "collection": "app.bsky.feed.post",
                "record": ["$type": "app.bsky.feed.post", "text": .string(text), "createdAt": .string(ATDatetime.now().string)],
            ], token: token)
    }

    /// The pending email token of `did` for `purpose`.
    public func emailToken(_ did: String, _ purpose: String) async throws -> String? {
        try await services.pool.read { db in
            try String.fetchOne(db, sql: "SELECT token FROM email_token WHERE did = ? AND purpose = ?", arguments: [did, purpose])
        }
    }

    /// A count from the database.
    public func count(_ sql: String, _ arguments: StatementArguments = []) async throws -> Int {
        try await services.pool.read { db in try Int.fetchOne(db, sql: sql, arguments: arguments) ?? 0 }
    }

    /// Rows of `did` in each table that holds account or repository state.
    public func rowsOf(_ did: String) async throws -> [String: Int] {
        var counts: [String: Int] = [:]
        for table in ["blockstore", "record", "repo_root", "refresh_token", "app_password", "email_token"] {
            counts[table] = try await count("SELECT COUNT(*) FROM \(table) WHERE did = ?", [did])
        }
        return counts
    }
}

extension DataValue {
    /// An element of an array value (nil when out of range or not an array).
    public subscript(index: Int) -> DataValue? {
        guard let array = arrayValue, array.indices.contains(index) else { return nil }
        return array[index]
    }
}
