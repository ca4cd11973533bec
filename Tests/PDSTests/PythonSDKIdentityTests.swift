import Foundation
import PDSTestSupport
import Testing

@testable import PDS

/// The Python atproto SDK against a server with a PLC directory and an
/// AppView double: preferences and a proxied call.
@Suite("Python SDK: preferences and proxying")
struct PythonSDKIdentityTests {
    @Test func sdkStoresPreferencesAndCallsTheAppViewThroughTheServer() async throws {
        #expect(FileManager.default.isExecutableFile(atPath: ProjectTools.python), "no Python venv: run scripts/test")
        guard FileManager.default.isExecutableFile(atPath: ProjectTools.python) else { return }
        let plc = try await FakePLCDirectory()
        defer { plc.stop() }
        let appView = try await FakeAppView(plcURL: plc.url)
        defer { appView.stop() }
        let server = try await TestServer.start {
            $0.plcDirectoryURL = plc.url
            $0.appViewURL = appView.url
            $0.appViewDID = "did:web:appview.test"
        }
        defer { Task { await server.stop() } }
        let (status, output) = try await ProjectTools.runPython(script: "Tests/Python/sdk_identity.py", arguments: [server.baseURL])
        #expect(status == 0, "\(output)")
        #expect(output.contains("OK: did:plc:"))
        let timeline = appView.requests.filter { $0.nsid == "app.bsky.feed.getTimeline" }
        #expect(timeline.count == 1)
        #expect(timeline.first?.failure == nil && timeline.first?.claims?.aud == "did:web:appview.test")
    }
}
