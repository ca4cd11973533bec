import Foundation
import TestSupport

/// The project's own files and the programs tests run beside the server:
/// the Python venv that scripts/test installs (`.build/python-venv`) and
/// child processes read off the cooperative pool.
public enum ProjectTools {
    /// The repository's root directory.
    public static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    /// The venv's Python.
    public static let python = root.appendingPathComponent(".build/python-venv/bin/python").path

    /// The built `pds` executable (`swift build`).
    public static let pds = root.appendingPathComponent(".build/debug/pds").path

    /// Runs `pds` with `arguments` and returns its
    /// exit status, standard output and standard error.
    public static func pds(_ arguments: [String]) async throws -> (status: Int32, out: String, err: String) {
        // The CLI reads PDS_* settings; keep the test's own environment out of it.
        let result = try await ChildProcess.run(
            pds, arguments, environment: ["PATH": "/usr/bin:/bin"], standardError: .collect)
        return (result.status, result.output, result.error)
    }

    /// Runs a script of `Tests/Python` with the venv's Python, reading its
    /// output off the cooperative pool while the in-process server keeps
    /// serving. - Returns: the exit status and everything it printed.
    public static func runPython(script: String, arguments: [String]) async throws -> (status: Int32, output: String) {
        try await run(python, [root.appendingPathComponent(script).path] + arguments)
    }

    /// Runs a program to its end without blocking the cooperative pool.
    /// - Returns: the exit status and everything it printed.
    public static func run(_ executable: String, _ arguments: [String]) async throws -> (status: Int32, output: String) {
        let result = try await ChildProcess.run(executable, arguments)
        return (result.status, result.output)
    }
}
