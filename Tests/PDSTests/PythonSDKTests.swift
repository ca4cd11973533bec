import Foundation
import PDSTestSupport
import Testing

@testable import PDS

/// The Python atproto SDK (installed by scripts/test in .build/python-venv)
/// driving the real server over HTTP, as a user's app would.
@Suite("Python SDK end to end")
struct PythonSDKTests {
    @Test func sdkCreatesLogsInWritesAndVerifies() async throws {
        #expect(FileManager.default.isExecutableFile(atPath: ProjectTools.python), "no Python venv: run scripts/test")
        guard FileManager.default.isExecutableFile(atPath: ProjectTools.python) else { return }
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let (status, output) = try await ProjectTools.runPython(
            script: "Tests/Python/sdk_e2e.py", arguments: [server.baseURL])
        print("python sdk: \(output.trimmingCharacters(in: .whitespacesAndNewlines).suffix(600))")
        #expect(status == 0, "\(output)")
        #expect(output.contains("OK: did:plc:"))
    }
}
