import Foundation
import Logging
import PDSTestSupport
import Testing

@testable import PDS

/// The data directory holds the accounts' signing keys: nothing in it may be
/// readable by other users.
@Suite("Data directory permissions")
struct DataDirectoryPermissionsTests {
    static func mode(_ path: String) -> mode_t {
        var info = stat()
        return lstat(path, &info) == 0 ? info.st_mode & 0o777 : 0
    }

    @Test func aNewServerCreatesEverythingPrivate() async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        _ = try await server.createAccount("kim")
        let dir = server.dataDirectory.path
        #expect(Self.mode(dir) == 0o700)
        for name in ["pds.sqlite", "pds.sqlite-wal", "pds.sqlite-shm", "service-keys.json"] {
            #expect(FileManager.default.fileExists(atPath: dir + "/" + name), "\(name) missing")
            #expect(Self.mode(dir + "/" + name) == 0o600, "\(name): \(String(Self.mode(dir + "/" + name), radix: 8))")
        }
    }

    @Test func anOlderInstallationIsCorrectedAtStart() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pds-perm-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // As installations before the fix left them: 0755 and 0644.
        try FileManager.default.createDirectory(atPath: dir + "/blobs/ab", withIntermediateDirectories: true)
        for file in ["pds.sqlite", "pds.sqlite-wal", "blobs/ab/cid"] {
            #expect(FileManager.default.createFile(atPath: dir + "/" + file, contents: Data([1])))
            chmod(dir + "/" + file, 0o644)
        }
        for folder in ["", "/blobs", "/blobs/ab"] { chmod(dir + folder, 0o755) }
        let outside = dir + "-outside"
        defer { try? FileManager.default.removeItem(atPath: outside) }
        #expect(FileManager.default.createFile(atPath: outside, contents: Data([2])))
        chmod(outside, 0o644)
        try FileManager.default.createSymbolicLink(atPath: dir + "/link", withDestinationPath: outside)

        let corrected = try DataDirectoryPermissions.secure(dir, logger: Logger(label: "test"))
        #expect(corrected.count == 6)
        for folder in ["", "/blobs", "/blobs/ab"] { #expect(Self.mode(dir + folder) == 0o700, "\(folder)") }
        for file in ["pds.sqlite", "pds.sqlite-wal", "blobs/ab/cid"] { #expect(Self.mode(dir + "/" + file) == 0o600, "\(file)") }
        // The link's target is not touched; a second start has nothing to correct.
        #expect(Self.mode(outside) == 0o644)
        #expect(try DataDirectoryPermissions.secure(dir, logger: Logger(label: "test")).isEmpty)
    }
}
