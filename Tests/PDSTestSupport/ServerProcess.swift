import Foundation
import TestSupport

#if canImport(Glibc)
    import Glibc
#endif

/// A `pds serve` process (the built binary) on a data directory that
/// outlives it, so a test can kill it and start another on the same data.
public final class ServerProcess: XRPCTestClient, @unchecked Sendable {
    public static let binary = ProjectTools.root.appendingPathComponent(".build/debug/pds").path
    public let port: Int
    public let process: ChildProcess
    public var baseURL: String { "http://127.0.0.1:\(port)" }

    public init(dataDirectory: URL) async throws {
        port = try freePort()
        var environment = ProcessInfo.processInfo.environment
        environment["PDS_RATE_LIMITS_OFF"] = "true"
        environment["PDS_PUBLIC_URL"] = "http://127.0.0.1:\(port)"
        environment["PDS_LOG_LEVEL"] = "warning"
        // No network in tests: no PLC directory.
        environment["PDS_PLC_DIRECTORY_URL"] = ""
        process = try ChildProcess(
            Self.binary, ["serve", "--port", String(port), "--data-dir", dataDirectory.path],
            environment: environment)
        for _ in 0..<600 {
            if (try? await request("GET", "/xrpc/_health"))?.status == 200 { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        process.send(SIGKILL)
        _ = await process.waitForExit()
        throw TestError("pds serve did not start on port \(port)")
    }

    /// Ends the process with SIGKILL: no shutdown code runs.
    public func kill() async {
        process.send(SIGKILL)
        _ = await process.waitForExit()
    }

    /// Asks the process to shut down (SIGTERM), then makes sure it is gone.
    public func stop() async {
        process.send(SIGTERM)
        await kill()
    }
}

/// What a writer was told: the write was committed.
public struct AcknowledgedWrite: Sendable {
    public let uri: String
    public let cid: String
    public let commit: String

    public init(uri: String, cid: String, commit: String) {
        self.uri = uri
        self.cid = cid
        self.commit = commit
    }
}

/// The writes acknowledged so far, shared by the writer tasks.
public actor Acknowledgements {
    public init() {}

    public private(set) var all: [AcknowledgedWrite] = []
    /// The latest acknowledged rev per repository (when writers report it).
    public private(set) var latestRev: [String: String] = [:]
    public var count: Int { all.count }
    public func add(_ write: AcknowledgedWrite) { all.append(write) }

    /// Records a write and the rev of the commit that acknowledged it.
    public func add(_ write: AcknowledgedWrite, rev: String, did: String) {
        all.append(write)
        if rev > latestRev[did, default: ""] { latestRev[did] = rev }
    }
}
