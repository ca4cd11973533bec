import ArgumentParser
import Foundation
#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif
#if canImport(Glibc)
    import Glibc
#endif

/// A `pds serve` process on a temporary data directory, started by a
/// benchmark so that the server runs as it does in production (its own
/// process, rate limits off), and removed with its data when stopped.
final class BenchServer {
    let port: Int
    let process: Process
    let dataDirectory: URL
    var base: String { "http://127.0.0.1:\(port)/xrpc/" }

    init(environment extra: [String: String] = [:]) async throws {
        dataDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("pds-bench-\(UUID().uuidString)")
        port = try Self.freePort()
        process = Process()
        process.executableURL = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        process.arguments = ["serve", "--port", String(port), "--data-dir", dataDirectory.path]
        var environment = ProcessInfo.processInfo.environment
        environment["PDS_RATE_LIMITS_OFF"] = "true"
        // The bench's clients (1,000 firehose consumers among them) all come from loopback.
        environment["PDS_MAX_CONNECTIONS_PER_ADDRESS"] = "100000"
        environment["PDS_LOG_LEVEL"] = "warning"
        // Benchmark accounts are not registered with a PLC directory.
        environment["PDS_PLC_DIRECTORY_URL"] = ""
        for (key, value) in extra { environment[key] = value }
        process.environment = environment
        process.standardError = FileHandle.nullDevice
        try process.run()
        try await waitForHealth()
        Bench.say("server: pds serve on port \(port), pid \(process.processIdentifier)")
    }

    func stop() {
        process.terminate()
        process.waitUntilExit()
        try? FileManager.default.removeItem(at: dataDirectory)
    }

    /// The server's resident memory in MB (from /proc).
    func residentMB() -> Double {
        guard let status = try? String(contentsOfFile: "/proc/\(process.processIdentifier)/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
            let kb = Double(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "")
        else { return 0 }
        return kb / 1024
    }

    /// CPU seconds (user + system) the server has used so far.
    func cpuSeconds() -> Double {
        guard let stat = try? String(contentsOfFile: "/proc/\(process.processIdentifier)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return 0 }
        // Fields after the command: state is field 3, utime 14, stime 15.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// Context switches (voluntary and not) of all the server's threads so
    /// far: a steadier measure of thread hand-offs than CPU time on a
    /// shared machine.
    func contextSwitches() -> Int {
        let tasks = "/proc/\(process.processIdentifier)/task"
        guard let threads = try? FileManager.default.contentsOfDirectory(atPath: tasks) else { return 0 }
        var total = 0
        for thread in threads {
            guard let status = try? String(contentsOfFile: "\(tasks)/\(thread)/status", encoding: .utf8) else { continue }
            for line in status.split(separator: "\n") where line.contains("ctxt_switches:") {
                total += Int(line.split(separator: "\t").last?.trimmingCharacters(in: .whitespaces) ?? "") ?? 0
            }
        }
        return total
    }

    /// Waits (up to `limit` seconds) until the server has used less than
    /// 5% of a core for half a second: work left over from one measurement
    /// (the feed generator's backlog of posts) must not be counted in the
    /// next.
    func waitUntilIdle(limit: Duration = .seconds(30)) async throws {
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            let before = cpuSeconds()
            try await Task.sleep(for: .milliseconds(500))
            if cpuSeconds() - before < 0.025 { return }
        }
    }

    /// A port nothing listens on now.
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    private func waitForHealth() async throws {
        for _ in 0..<100 {
            if let (_, response) = try? await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)/xrpc/_health")!),
                (response as? HTTPURLResponse)?.statusCode == 200
            {
                return
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        process.terminate()
        throw ValidationError("the server did not start")
    }
}
