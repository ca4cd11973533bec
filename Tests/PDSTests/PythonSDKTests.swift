import Foundation
import TestSupport
import Testing

@testable import PDS

/// The Python atproto SDK (installed by scripts/test in .build/python-venv)
/// driving the real server over HTTP, as a user's app would.
@Suite("Python SDK end to end")
struct PythonSDKTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let python = root.appendingPathComponent(".build/python-venv/bin/python").path

    @Test func sdkCreatesLogsInWritesAndVerifies() async throws {
        #expect(FileManager.default.isExecutableFile(atPath: Self.python), "no Python venv: run scripts/test")
        guard FileManager.default.isExecutableFile(atPath: Self.python) else { return }
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let (status, output) = try await Self.runPython(
            script: "Tests/Python/sdk_e2e.py", arguments: [server.baseURL])
        print("python sdk: \(output.trimmingCharacters(in: .whitespacesAndNewlines).suffix(600))")
        #expect(status == 0, "\(output)")
        #expect(output.contains("OK: did:plc:"))
    }

    /// Runs a script of `Tests/Python` with the venv's Python, reading its
    /// output off the cooperative pool while the in-process server keeps
    /// serving. - Returns: the exit status and everything it printed.
    static func runPython(script: String, arguments: [String]) async throws -> (status: Int32, output: String) {
        try await run(python, [root.appendingPathComponent(script).path] + arguments)
    }

    /// Runs a program to its end without blocking the cooperative pool.
    /// - Returns: the exit status and everything it printed.
    static func run(_ executable: String, _ arguments: [String]) async throws -> (status: Int32, output: String) {
        let result = try await ChildProcess.run(executable, arguments)
        return (result.status, result.output)
    }
}
