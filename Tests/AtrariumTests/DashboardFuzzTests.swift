import ATProto
import Atrarium
import FeedGen
import Foundation
import PDSTestSupport
import Testing

@testable import PDS

/// A property-based fuzz of the dashboard API with schemathesis (from
/// PyPI, in `.build/python-venv`) against the served `openapi.json`: it
/// generates valid and invalid bodies and parameters for every operation;
/// no answer may be a 5xx, and every answer must match the document (a
/// documented status code and content type, a body valid against the
/// response's schema).
@Suite("Atrarium dashboard API: schemathesis fuzz")
struct DashboardFuzzTests {
    static let schemathesis = ProjectTools.root.appendingPathComponent(".build/python-venv/bin/schemathesis").path

    @Test func fuzzFindsNoServerErrors() async throws {
        #expect(FileManager.default.isExecutableFile(atPath: Self.schemathesis), "no schemathesis in the venv: run scripts/test")
        guard FileManager.default.isExecutableFile(atPath: Self.schemathesis) else { return }
        var limits = DashboardConfig()
        limits.requestsPerHour = 1_000_000
        limits.feedRequestsPerHour = 1_000_000
        let (server, _) = try await TestServer.startWithDashboard(limits)
        defer { Task { await server.stop() } }
        let owner = try await server.createAccount("owner")
        let member = try await server.createAccount("member")
        let created = try await server.api("POST", "/api/communities", #"{"name": "Fuzz", "accessType": "invite-only"}"#, token: owner.accessJwt)
        let id = try #require(created["community"]?["id"]?.stringValue)
        let joined = try await server.api("POST", "/api/communities/\(id)/members", nil, token: member.accessJwt)
        #expect(joined.status == 201, "\(joined.status) \(joined.text)")

        // Path parameters name the real community and member, so bodies reach the handlers' checks.
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("fuzz-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let config = directory.appendingPathComponent("schemathesis.toml")
        try """
            [parameters]
            "path.id" = "\(id)"
            "path.did" = "\(member.did)"
            """.write(to: config, atomically: true, encoding: .utf8)
        let (status, output) = try await ProjectTools.run(
            Self.schemathesis,
            [
                "--config-file", config.path, "run", server.baseURL + "/api/openapi.json", "--url", server.baseURL,
                "--checks", "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance", "--max-examples", "25", "--phases", "examples,coverage,fuzzing",
                "--header", "Authorization: Bearer \(owner.accessJwt)", "--request-timeout", "10", "--seed", "1", "--no-color",
                "--workers", "1",
            ])
        print("schemathesis: \(output.suffix(1500))")
        #expect(status == 0, "\(output.suffix(4000))")
        #expect(!output.contains("Server error"))
    }
}
