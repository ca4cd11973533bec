import Foundation
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
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.python)
        process.arguments = [Self.root.appendingPathComponent("Tests/Python/sdk_e2e.py").path, server.baseURL]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        // Read on a background thread while the server keeps serving on this one.
        let output: String = await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                let data = pipe.fileHandleForReading.readDataToEndOfFile()
                process.waitUntilExit()
                continuation.resume(returning: String(decoding: data, as: UTF8.self))
            }
        }
        print("python sdk: \(output.trimmingCharacters(in: .whitespacesAndNewlines).suffix(600))")
        #expect(process.terminationStatus == 0, "\(output)")
        #expect(output.contains("OK: did:plc:"))
    }
}
