import Foundation
import PDSTestSupport
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The tests' own process starter: it must work while the test process has
/// many descriptors open (Foundation's `Process` crashed there), and its
/// children must inherit none of them.
@Suite("Child processes of the tests")
struct ChildProcessTests {
    @Test func childrenStartWithManyDescriptorsOpenAndInheritNone() async throws {
        // The parallel suite holds ~1,400 descriptors at its peak; hold more.
        let held = (0..<1500).map { _ in open("/dev/null", O_RDONLY) }
        defer { for fd in held where fd >= 0 { close(fd) } }
        #expect(held.allSatisfy { $0 >= 0 }, "could not open 1,500 descriptors")

        // The child lists its own descriptors: 0, 1, 2 and the one `ls` opens.
        let listing = try await ChildProcess.run("/bin/ls", ["/proc/self/fd"])
        #expect(listing.termination == .exited(0))
        let descriptors = listing.output.split(separator: "\n").compactMap { Int($0) }
        #expect(descriptors.count <= 4 && descriptors.allSatisfy { $0 <= 3 }, "\(descriptors)")
    }

    @Test func outputErrorStatusAndSignalsAreReported() async throws {
        let separate = try await ChildProcess.run(
            "/bin/sh", ["-c", "echo out; echo err >&2; exit 3"], standardError: .collect)
        #expect(separate.termination == .exited(3) && separate.status == 3)
        #expect(separate.output == "out\n" && separate.error == "err\n")

        let merged = try await ChildProcess.run("/bin/sh", ["-c", "echo one; echo two >&2"])
        #expect(merged.output == "one\ntwo\n" && merged.error.isEmpty)

        let environment = try await ChildProcess.run("/bin/sh", ["-c", "echo $ONLY"], environment: ["ONLY": "this"])
        #expect(environment.output == "this\n")

        let sleeper = try ChildProcess("/bin/sleep", ["30"])
        sleeper.send(SIGKILL)
        #expect(await sleeper.waitForExit() == .signalled(SIGKILL))
        #expect(await sleeper.waitForExit() == .signalled(SIGKILL), "a second wait sees the same end")

        #expect(throws: ChildProcessError.self) { try ChildProcess("/nonexistent/program", []) }
    }
}
