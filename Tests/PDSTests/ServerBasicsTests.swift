import ATProto
import Foundation
import PDSTestSupport
import Repo
import ServiceStorage
import Testing

@testable import PDS

@Suite("Server basics")
struct ServerBasicsTests {
    @Test func healthRobotsDidJsonAndDescribeServer() async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let health = try await server.request("GET", "/xrpc/_health")
        #expect(health.status == 200 && health["version"]?.stringValue == PDSInfo.version)
        let robots = try await server.request("GET", "/robots.txt")
        #expect(robots.status == 200 && robots.text.contains("User-agent"))
        let did = try await server.request("GET", "/.well-known/did.json")
        #expect(did["id"]?.stringValue == "did:web:localhost")
        #expect(did["service"]?.arrayValue?.first?["type"]?.stringValue == "AtprotoPersonalDataServer")
        let describe = try await server.query("com.atproto.server.describeServer")
        #expect(describe["did"]?.stringValue == "did:web:localhost")
        #expect(describe["availableUserDomains"] == [".test"])
        #expect(describe["inviteCodeRequired"] == false)
    }

    @Test func unknownMethodsAnswer501AndWrongVerbs400() async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let unknown = try await server.query("app.bsky.feed.getTimeline")
        #expect(unknown.status == 501 && unknown.error == "MethodNotImplemented")
        let wrongVerb = try await server.request("GET", "/xrpc/com.atproto.server.createSession")
        #expect(wrongVerb.status == 400 && wrongVerb.error == "InvalidRequest")
        let notNSID = try await server.request("GET", "/xrpc/not-an-nsid")
        #expect(notNSID.status == 404)
    }

    @Test func corsPreflightIsAnswered() async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let reply = try await server.request(
            "OPTIONS", "/xrpc/com.atproto.server.describeServer",
            headers: ["Origin": "https://bsky.app", "Access-Control-Request-Method": "POST"])
        #expect(reply.status == 204)
        #expect(reply.headers["access-control-allow-origin"] == "*")
        #expect(reply.headers["access-control-allow-headers"]?.lowercased().contains("authorization") == true)
    }
}

@Suite("JSON logs")
struct JSONLogTests {
    @Test func escapesAndTimestamps() throws {
        var out = ""
        JSONLogHandler.appendString("a\"b\\c\nd\u{1}é", to: &out)
        #expect(out == #""a\"b\\c\nd\u0001é""#)
        let parsed = try JSONSerialization.jsonObject(with: Data(out.utf8), options: [.fragmentsAllowed]) as? String
        #expect(parsed == "a\"b\\c\nd\u{1}é")
        let ts = JSONLogHandler.timestamp()
        #expect(ATDatetime.isValid(ts) && ts.hasSuffix("Z") && ts.count == 24)
    }
}

@Suite("Configuration")
struct ConfigTests {
    @Test func aLocalhostServerRegistersNoDIDsWithThePLCDirectoryUnlessTold() throws {
        var config = PDSConfig()
        #expect(config.resolvedPLCDirectoryURL == nil)
        config.hostname = "pds.example.com"
        #expect(config.resolvedPLCDirectoryURL == "https://plc.directory")
        config.plcDirectoryURL = ""
        #expect(config.resolvedPLCDirectoryURL == nil)
        config.hostname = "localhost"
        config.plcDirectoryURL = "http://127.0.0.1:2582/"
        #expect(config.resolvedPLCDirectoryURL == "http://127.0.0.1:2582")
        let fromEnvironment = try PDSConfig.load(file: nil, environment: ["PDS_HOSTNAME": "pds.example.com", "PDS_PLC_DIRECTORY_URL": ""])
        #expect(fromEnvironment.resolvedPLCDirectoryURL == nil)
    }

    @Test func aPartialFileKeepsDefaultsAndTheEnvironmentWins() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("pds-config-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: file) }
        try Data(#"{"hostname": "pds.example.com", "rateLimits": {"writesPerHour": 10}}"#.utf8).write(to: file)
        let config = try PDSConfig.load(file: file.path, environment: ["PDS_PORT": "8080"])
        #expect(config.hostname == "pds.example.com" && config.port == 8080)
        #expect(config.rateLimits.writesPerHour == 10 && config.rateLimits.loginsPerFiveMinutes == 30)
        #expect(config.dataDirectory == "./data" && config.blobUploadLimit == 100 * 1024 * 1024)
        #expect(config.resolvedPublicURL == "https://pds.example.com")
        #expect(config.resolvedServiceDID == "did:web:pds.example.com")
        // Bad values are errors, not silent defaults.
        #expect(throws: (any Error).self) { try PDSConfig.load(file: nil, environment: ["PDS_PORT": "eighty"]) }
        #expect(throws: (any Error).self) { try PDSConfig.load(file: nil, environment: ["PDS_SIGNING_KEY_TYPE": "ed25519"]) }
        #expect(throws: (any Error).self) { try PDSConfig.load(file: nil, environment: ["PDS_BSKY_APP_VIEW_DID": "api.bsky.app"]) }
        #expect(throws: (any Error).self) { try PDSConfig.load(file: nil, environment: ["PDS_SERVICE_DID": "did:web:"]) }
        #expect(try PDSConfig.load(file: nil, environment: ["PDS_BSKY_APP_VIEW_DID": "did:web:api.bsky.app"]).appViewDID == "did:web:api.bsky.app")
        try Data(#"{"port": "not a number"}"#.utf8).write(to: file)
        #expect(throws: (any Error).self) { try PDSConfig.load(file: file.path, environment: [:]) }

        // The record cache: 64 MiB unless set; 0 turns it off; negative sizes are refused.
        #expect(try PDSConfig.load(file: nil, environment: [:]).recordCacheMegabytes == 64)
        #expect(try PDSConfig.load(file: nil, environment: ["PDS_RECORD_CACHE_MB": "0"]).recordCacheMegabytes == 0)
        try Data(#"{"recordCacheMegabytes": 8}"#.utf8).write(to: file)
        #expect(try PDSConfig.load(file: file.path, environment: [:]).recordCacheMegabytes == 8)
        #expect(throws: (any Error).self) { try PDSConfig.load(file: nil, environment: ["PDS_RECORD_CACHE_MB": "-1"]) }
        try Data(#"{"recordCacheMegabytes": -5}"#.utf8).write(to: file)
        #expect(throws: (any Error).self) { try PDSConfig.load(file: file.path, environment: [:]) }
    }

    @Test func durabilityFullSyncsEveryCommit() async throws {
        #expect(try PDSConfig.load(file: nil, environment: [:]).durability == .normal)
        #expect(try PDSConfig.load(file: nil, environment: ["PDS_DURABILITY": "full"]).durability == .full)
        #expect(throws: (any Error).self) { try PDSConfig.load(file: nil, environment: ["PDS_DURABILITY": "paranoid"]) }
        // SQLite's `synchronous`: 1 is NORMAL, 2 is FULL (a sync of the log per commit).
        for (durability, expected) in [(ServiceDatabase.Durability.normal, 1), (.full, 2)] {
            let server = try await TestServer.start { $0.durability = durability }
            let writer = try await server.services.pool.write { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") }
            let reader = try await server.services.pool.read { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") }
            await server.stop()
            #expect(writer == expected && reader == expected, "\(durability): writer \(String(describing: writer)), reader \(String(describing: reader))")
        }
    }
}
