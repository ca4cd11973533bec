import ATProto
import Foundation
import OAuth
import PDSTestSupport
import TestSupport
import Testing

@testable import PDS

/// `include:` scopes: a permission set published as a
/// `com.atproto.lexicon.schema` record, found through a loopback DNS server
/// (`_lexicon.<authority>`) and a PLC directory, expands into exactly the
/// permissions the spec lets a set hold.
@Suite("OAuth permission sets")
struct OAuthPermissionSetTests {
    static let set = "test.example.authLikes"

    static var schema: DataValue {
        [
            "$type": "com.atproto.lexicon.schema", "lexicon": 1, "id": .string(set),
            "defs": [
                "main": [
                    "type": "permission-set", "title": "Likes", "detail": "Like things and read likes",
                    "permissions": [
                        ["type": "permission", "resource": "repo", "collection": ["test.example.like"]],
                        ["type": "permission", "resource": "repo", "collection": ["test.example.note"], "action": ["delete"]],
                        ["type": "permission", "resource": "rpc", "inheritAud": true, "lxm": ["test.example.getLikes"]],
                        ["type": "permission", "resource": "rpc", "aud": "*", "lxm": ["test.example.getCounts"]],
                        // Each of these must be ignored: outside the set's namespace, a
                        // resource sets may not hold, an unknown parameter, both aud forms.
                        ["type": "permission", "resource": "repo", "collection": ["app.bsky.feed.post"]],
                        ["type": "permission", "resource": "blob", "accept": ["*/*"]],
                        ["type": "permission", "resource": "repo", "collection": ["test.example.other"], "mystery": true],
                        ["type": "permission", "resource": "rpc", "inheritAud": true, "aud": "*", "lxm": ["test.example.both"]],
                        ["type": "permission", "resource": "identity", "attr": "*"],
                    ],
                ]
            ],
        ]
    }

    @Test func aPublishedSetExpandsIntoItsPermissionsOnly() async throws {
        let plc = try await FakePLCDirectory()
        defer { plc.stop() }
        let dns = try FakeDNSServer(records: [:])
        defer { dns.stop() }
        let server = try await TestServer.start {
            $0.plcDirectoryURL = plc.url
            $0.handleDNSServer = "127.0.0.1:\(dns.port)"
            $0.allowPrivateOutbound = true
        }
        defer { Task { await server.stop() } }
        let publisher = try await server.createAccount("lexicons")
        _ = try await server.createRecord(publisher, "com.atproto.lexicon.schema", Self.schema, rkey: Self.set)
        dns.records.withLock { $0["_lexicon.example.test"] = ["did=\(publisher.did)"] }

        let oauth = server.services.oauth
        let effective = await oauth.effectiveScope("atproto include:\(Self.set)?aud=did:web:svc.test%23svc")
        let scope = try OAuthScope(effective)
        #expect(scope.allowsRepo(collection: "test.example.like", action: .create))
        #expect(scope.allowsRepo(collection: "test.example.note", action: .delete))
        #expect(!scope.allowsRepo(collection: "test.example.note", action: .create))
        #expect(scope.allowsRPC(lxm: "test.example.getLikes", aud: "did:web:svc.test#svc"))
        #expect(!scope.allowsRPC(lxm: "test.example.getLikes", aud: "did:web:other.test#svc"))
        #expect(scope.allowsRPC(lxm: "test.example.getCounts", aud: "did:web:other.test#svc"))
        #expect(!scope.allowsRepo(collection: "app.bsky.feed.post", action: .create))
        #expect(!scope.allowsRepo(collection: "test.example.other", action: .create))
        #expect(!scope.allowsRPC(lxm: "test.example.both", aud: "did:web:svc.test#svc"))
        #expect(!scope.allowsBlob(mime: "image/png") && !scope.allowsIdentity("handle"))

        // Without an aud on the include, the inheriting rpc permission grants nothing.
        let noAud = try OAuthScope(await oauth.effectiveScope("atproto include:\(Self.set)"))
        #expect(!noAud.allowsRPC(lxm: "test.example.getLikes", aud: "did:web:svc.test#svc"))
        #expect(noAud.allowsRepo(collection: "test.example.like", action: .create))

        // A set nobody publishes grants nothing, and is asked for once a minute at most.
        let unknown = try OAuthScope(await oauth.effectiveScope("atproto include:test.nowhere.authAll"))
        #expect(unknown.tokens == ["atproto", "include:test.nowhere.authAll"])
        let asked = dns.queries.withLock { $0 }
        _ = await oauth.effectiveScope("atproto include:test.nowhere.authAll")
        #expect(dns.queries.withLock { $0 } == asked)
    }

    @Test func aDocumentThatIsNotAPermissionSetIsRefused() {
        #expect(throws: OAuthError.self) { try PermissionSet(nsid: "test.example.x", schema: ["id": "test.example.x", "defs": ["main": ["type": "record"]]]) }
        #expect(throws: OAuthError.self) { try PermissionSet(nsid: "test.example.x", schema: ["id": "test.example.y", "defs": ["main": ["type": "permission-set"]]]) }
    }
}
