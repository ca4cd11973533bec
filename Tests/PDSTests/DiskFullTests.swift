import ATProto
import CAR
import Foundation
import GRDB
import PDSTestSupport
import Repo
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A small filesystem of the test's own (a tmpfs with a size), filled up
/// under a running server: writes fail with `507 InsufficientStorage`,
/// nothing is corrupted, and writes succeed again once space is freed.
@Suite("Disk full")
struct DiskFullTests {
    /// Mounting needs root (CI and these machines run as root).
    static let canMount = getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/bin/mount")

    static func run(_ path: String, _ arguments: [String]) async throws -> Int32 {
        let process = try ChildProcess(path, arguments)
        return await process.waitForExit().status
    }

    /// Writes zeros into `path` until the filesystem has no room left.
    static func fill(_ path: String) -> Int {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        defer { close(fd) }
        let chunk = [UInt8](repeating: 0, count: 64 * 1024)
        var written = 0
        while true {
            let n = chunk.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            written += n
        }
        // And the last partial pages.
        while (chunk.withUnsafeBytes { write(fd, $0.baseAddress, 1) }) == 1 { written += 1 }
        return written
    }

    @Test(.enabled(if: canMount, "needs root to mount a tmpfs; skipped"))
    func writesOnAFullDiskFailClearlyAndNothingIsLost() async throws {
        let mountPoint = FileManager.default.temporaryDirectory.appendingPathComponent("pds-full-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)
        #expect(try await Self.run("/bin/mount", ["-t", "tmpfs", "-o", "size=24m", "tmpfs", mountPoint]) == 0)
        defer {
            _ = try? ChildProcess("/bin/umount", ["-l", mountPoint])
            try? FileManager.default.removeItem(atPath: mountPoint)
        }
        let server = try await TestServer.start { $0.dataDirectory = mountPoint + "/data" }
        defer { Task { await server.stop() } }
        let alice = try await server.createAccount("alice")
        var acknowledged: [(uri: String, cid: String)] = []
        func post(_ text: String) async throws -> TestServer.Reply {
            let reply = try await server.procedure(
                "com.atproto.repo.createRecord",
                ["repo": .string(alice.did), "collection": "app.bsky.feed.post", "record": postValue(text)], token: alice.accessJwt)
            if reply.status == 200, let uri = reply["uri"]?.stringValue, let cid = reply["cid"]?.stringValue {
                acknowledged.append((uri, cid))
            }
            return reply
        }
        for i in 0..<5 { #expect(try await post("before \(i)").status == 200) }

        // Fill the disk.
        let filler = mountPoint + "/filler"
        #expect(Self.fill(filler) > 1 << 20)

        // Blob uploads need new space at once; record writes may still fit
        // in the log's reused pages for a while, then fail the same way.
        let upload = try await server.uploadBlob(SampleFiles.random(256 * 1024), token: alice.accessJwt)
        #expect(upload.status == 507 && upload.error == "InsufficientStorage", "\(upload.status) \(upload.text)")
        var refused: TestServer.Reply?
        for i in 0..<2_000 {
            let reply = try await post("while full \(i) " + String(repeating: "x", count: 250))
            if reply.status != 200 {
                refused = reply
                break
            }
        }
        let answer = try #require(refused, "no write was refused on a full disk")
        #expect(answer.status == 507 && answer.error == "InsufficientStorage", "\(answer.status) \(answer.text)")
        #expect(answer.text.contains("disk is full"))
        // Reads go on.
        #expect(try await server.query("com.atproto.repo.describeRepo", [("repo", alice.did)]).status == 200)

        // Space again: writes succeed.
        try FileManager.default.removeItem(atPath: filler)
        #expect(try await post("after").status == 200)
        #expect(try await server.uploadBlob(SampleFiles.random(256 * 1024), token: alice.accessJwt).status == 200)

        // Nothing acknowledged is missing, the database is intact, the log
        // gap-free and the repository verifies.
        for ack in acknowledged {
            let parts = ack.uri.split(separator: "/")
            let reply = try await server.query(
                "com.atproto.repo.getRecord", [("repo", String(parts[1])), ("collection", String(parts[2])), ("rkey", String(parts[3]))])
            #expect(reply.status == 200 && reply["cid"]?.stringValue == ack.cid)
        }
        let integrity = try await server.services.pool.read { db in try String.fetchAll(db, sql: "PRAGMA integrity_check") }
        #expect(integrity == ["ok"])
        let seqs = try await server.services.pool.read { db in try Int64.fetchAll(db, sql: "SELECT seq FROM repo_seq ORDER BY seq") }
        #expect(seqs == Array(1...Int64(seqs.count)))
        let car = try await server.query("com.atproto.sync.getRepo", [("did", alice.did)])
        let verified = try RepoVerifier.verifyCAR(
            InMemoryByteSource(car.body), expectedDID: try DID(alice.did), key: try await server.signingKey(alice.did).publicKey)
        #expect(verified.recordCount == acknowledged.count)
    }
}
