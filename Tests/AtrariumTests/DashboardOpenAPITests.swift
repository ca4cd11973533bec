import ATProto
import Atrarium
import FeedGen
import Foundation
import PDSTestSupport
import Testing

@testable import PDS

/// The served `openapi.json` against the routes the code registers and the
/// routes the running server answers.
@Suite("Atrarium dashboard API: OpenAPI document")
struct DashboardOpenAPITests {
    @Test func documentedRoutesAreExactlyTheServedRoutes() async throws {
        let (server, _) = try await TestServer.startWithDashboard()
        defer { Task { await server.stop() } }
        let reply = try await server.request("GET", "/api/openapi.json")
        #expect(reply.status == 200 && reply.headers["content-type"]?.hasPrefix("application/json") == true)
        let document = try #require(try JSONSerialization.jsonObject(with: Data(reply.body)) as? [String: Any])
        #expect((document["openapi"] as? String)?.hasPrefix("3.") == true)
        let paths = try #require(document["paths"] as? [String: [String: Any]])
        let methods: Set<String> = ["get", "put", "post", "delete", "patch", "head", "options"]
        var documented: Set<String> = []
        for (path, item) in paths {
            for method in item.keys where methods.contains(method) { documented.insert("\(method.uppercased()) \(path)") }
        }
        let registered = Set(DashboardAPI.routes.map { "\($0.method) \($0.path)" })
        #expect(documented == registered, "documented only: \(documented.subtracting(registered)); served only: \(registered.subtracting(documented))")
        #expect(registered.count == 12)

        // Every documented route exists on the running server: without
        // credentials it answers the API's own 401 error, not the router's 404.
        let did = "did:plc:abcdefghijklmnopqrstuvwx"
        for route in documented.sorted() {
            let parts = route.split(separator: " ", maxSplits: 1).map(String.init)
            let path = parts[1].replacingOccurrences(of: "{id}", with: "0000abcd").replacingOccurrences(of: "{did}", with: did)
            let answer = try await server.request(parts[0], path, body: parts[0] == "POST" || parts[0] == "PUT" ? Array("{}".utf8) : nil, contentType: "application/json")
            if path == "/api/openapi.json" {
                #expect(answer.status == 200)
            } else {
                #expect(answer.status == 401 && answer.error == "AuthenticationRequired", "\(route) → \(answer.status) \(answer.text)")
            }
        }
        // A route that is not documented is not served.
        #expect(try await server.request("PATCH", "/api/communities/0000abcd").status == 404)
        #expect(try await server.request("GET", "/api/nothing").status == 404)
    }
}
