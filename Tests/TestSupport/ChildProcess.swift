import CChildProcess
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A program the tests run (the built `pds`, the Python SDK scripts),
/// started with posix_spawn rather than Foundation's `Process`.
///
/// Foundation's `Process.run()` on Linux lists `/proc/self/fd` to find the
/// descriptors to close in the child and copies each directory entry's whole
/// 256-byte name field; with about 1,360 descriptors open (a busy parallel
/// test run holds more) the last entry sits at the end of its buffer and the
/// copy reads past it: the test process died with SIGSEGV in CI. Here the
/// child closes every inherited descriptor itself (`closefrom`), and output
/// pipes are close-on-exec, so no child holds another child's pipe open.
public final class ChildProcess: Sendable {
    /// Where a child's standard output or error goes.
    public enum Output: Sendable, Equatable {
        /// Discarded (`/dev/null`).
        case discard
        /// Collected through a pipe; read it with `collectedOutput()`.
        case collect
        /// For standard error only: into standard output's pipe, interleaved
        /// in the order the child wrote them.
        case sameAsOutput
    }

    /// What a finished child printed, and how it ended.
    public struct Result: Sendable {
        public let termination: Termination
        public let output: String
        public let error: String

        public var status: Int32 { termination.status }
    }

    /// How a child ended.
    public enum Termination: Sendable, Equatable {
        case exited(Int32)
        case signalled(Int32)

        /// The exit status, or 128 + the signal, as a shell reports it.
        public var status: Int32 {
            switch self {
            case .exited(let code): code
            case .signalled(let signal): 128 + signal
            }
        }
    }

    /// The child's process id.
    public let pid: pid_t
    private let outputReader: Int32?
    private let errorReader: Int32?
    private let state = ExitState()

    /// Starts `executable` with `arguments`.
    /// - Parameters:
    ///   - environment: the child's whole environment (nothing is inherited).
    ///   - directory: the child's working directory, or this process's.
    public init(
        _ executable: String, _ arguments: [String],
        environment: [String: String] = ProcessInfo.processInfo.environment,
        standardOutput: Output = .discard, standardError: Output = .discard, directory: String? = nil
    ) throws {
        let devNull = open("/dev/null", O_RDWR | O_CLOEXEC)
        guard devNull >= 0 else { throw ChildProcessError.systemCall("open /dev/null", errno) }
        defer { close(devNull) }
        var outputPipe: [Int32] = [-1, -1]
        var errorPipe: [Int32] = [-1, -1]
        func closeAll() {
            for fd in outputPipe + errorPipe where fd >= 0 { close(fd) }
        }
        if standardOutput == .collect || standardError == .sameAsOutput {
            let status = pds_test_pipe(&outputPipe)
            guard status == 0 else { throw ChildProcessError.systemCall("pipe2", status) }
        }
        if standardError == .collect {
            let status = pds_test_pipe(&errorPipe)
            guard status == 0 else {
                closeAll()
                throw ChildProcessError.systemCall("pipe2", status)
            }
        }
        let outFD = outputPipe[1] >= 0 ? outputPipe[1] : devNull
        let errFD =
            switch standardError {
            case .discard: devNull
            case .collect: errorPipe[1]
            case .sameAsOutput: outputPipe[1]
            }

        var childPID: pid_t = 0
        let argv = [executable] + arguments
        let envp = environment.map { "\($0.key)=\($0.value)" }
        let status = withCStringArray(argv) { argvPointer in
            withCStringArray(envp) { envPointer in
                if let directory {
                    return directory.withCString {
                        pds_test_spawn(&childPID, executable, argvPointer, envPointer, devNull, outFD, errFD, $0)
                    }
                }
                return pds_test_spawn(&childPID, executable, argvPointer, envPointer, devNull, outFD, errFD, nil)
            }
        }
        guard status == 0 else {
            closeAll()
            throw ChildProcessError.systemCall("posix_spawn \(executable)", status)
        }
        for fd in [outputPipe[1], errorPipe[1]] where fd >= 0 { close(fd) }
        pid = childPID
        outputReader = outputPipe[0] >= 0 ? outputPipe[0] : nil
        errorReader = errorPipe[0] >= 0 ? errorPipe[0] : nil
    }

    deinit {
        for fd in [outputReader, errorReader] { if let fd { close(fd) } }
    }

    /// Sends `signal` to the child (a no-op once it has been reaped).
    public func send(_ signal: Int32) {
        if !state.hasExited { kill(pid, signal) }
    }

    /// Waits, off the cooperative pool, for the child to end.
    public func waitForExit() async -> Termination {
        await state.wait(for: pid)
    }

    /// Reads everything the child writes to its collected output and
    /// error, up to the end (when the child and every descendant holding a
    /// pipe have closed it), off the cooperative pool.
    public func collectedOutput() async -> (output: String, error: String) {
        async let output = Self.readToEnd(outputReader)
        async let error = Self.readToEnd(errorReader)
        return await (output, error)
    }

    private static func readToEnd(_ descriptor: Int32?) async -> String {
        guard let descriptor else { return "" }
        return await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                var data = Data()
                var buffer = [UInt8](repeating: 0, count: 65536)
                while true {
                    let count = read(descriptor, &buffer, buffer.count)
                    if count > 0 {
                        data.append(contentsOf: buffer[0..<count])
                    } else if count < 0 && errno == EINTR {
                        continue
                    } else {
                        break
                    }
                }
                continuation.resume(returning: String(decoding: data, as: UTF8.self))
            }
        }
    }

    /// Runs a program to its end.
    /// - Parameter standardError: `.sameAsOutput` (the default) puts
    ///   everything in `output`; `.collect` keeps the error apart.
    public static func run(
        _ executable: String, _ arguments: [String],
        environment: [String: String] = ProcessInfo.processInfo.environment,
        standardError: Output = .sameAsOutput, directory: String? = nil
    ) async throws -> Result {
        let child = try ChildProcess(
            executable, arguments, environment: environment,
            standardOutput: .collect, standardError: standardError, directory: directory)
        let (output, error) = await child.collectedOutput()
        return Result(termination: await child.waitForExit(), output: output, error: error)
    }
}

/// Why a child could not be started.
public enum ChildProcessError: Error, CustomStringConvertible {
    /// A system call failed with this errno.
    case systemCall(String, Int32)

    public var description: String {
        switch self {
        case .systemCall(let call, let code): "\(call) failed: \(String(cString: strerror(code)))"
        }
    }
}

/// The reaped status of one child, and the tasks waiting for it.
private final class ExitState: @unchecked Sendable {
    private let lock = NSLock()
    private var termination: ChildProcess.Termination?
    private var waiters: [CheckedContinuation<ChildProcess.Termination, Never>] = []
    private var reaping = false

    var hasExited: Bool { lock.withLock { termination != nil } }

    func wait(for pid: pid_t) async -> ChildProcess.Termination {
        await withCheckedContinuation { continuation in
            let (done, startReaper): (ChildProcess.Termination?, Bool) = lock.withLock {
                if let termination { return (termination, false) }
                waiters.append(continuation)
                defer { reaping = true }
                return (nil, !reaping)
            }
            if let done { continuation.resume(returning: done) }
            if startReaper {
                // waitpid blocks: a dispatch thread, never the cooperative pool.
                DispatchQueue.global().async { self.reap(pid) }
            }
        }
    }

    private func reap(_ pid: pid_t) {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        let signal = status & 0x7f
        let result: ChildProcess.Termination = signal == 0 ? .exited((status >> 8) & 0xff) : .signalled(signal)
        let waiting = lock.withLock {
            termination = result
            defer { waiters = [] }
            return waiters
        }
        for waiter in waiting { waiter.resume(returning: result) }
    }
}

/// Calls `body` with a NULL-terminated C array of `strings`.
private func withCStringArray<Result>(
    _ strings: [String], _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> Result
) -> Result {
    let pointers = strings.map { strdup($0) } + [nil]
    defer { for pointer in pointers { free(pointer) } }
    return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
}
