import Foundation

/// Foundation's `Process.run()` on Linux is not safe to call from several
/// threads at once (a test run crashed inside it, copying the environment
/// for a spawn); every test starts its child processes through this lock.
private let launchLock = NSLock()

/// Starts `process`, one launch at a time in this test run.
public func launch(_ process: Process) throws {
    launchLock.lock()
    defer { launchLock.unlock() }
    try process.run()
}
