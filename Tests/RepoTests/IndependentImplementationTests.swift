import ATCrypto
import ATProto
import Foundation
import Testing

@testable import Repo

/// Checks our repositories with code we did not write: the Python atproto
/// SDK and atmst (installed by scripts/test into .build/python-venv), and
/// the `pds` command line itself.
@Suite("Independent checks")
struct IndependentImplementationTests {
    static let python = RepoTestSupport.packageRoot.appendingPathComponent(".build/python-venv/bin/python").path
    static let pds = RepoTestSupport.packageRoot.appendingPathComponent(".build/debug/pds").path

    func exportedRepo(records: Int) throws -> (car: URL, key: PrivateKey, cleanup: () -> Void) {
        let key = PrivateKey.generate(.secp256k1)
        let (storage, dir) = try RepoTestSupport.storage()
        _ = try RepoTestSupport.populated(storage, key: key, count: records, batch: 200)
        let car = dir.appendingPathComponent("repo.car")
        var bytes = Data()
        try storage.exportCAR(did: RepoTestSupport.did) { bytes.append(contentsOf: $0) }
        try bytes.write(to: car)
        return (car, key, { try? FileManager.default.removeItem(at: dir) })
    }

    @Test func pythonSDKAndAtmstVerifyOurCAR() async throws {
        #expect(
            FileManager.default.isExecutableFile(atPath: Self.python),
            "no Python venv at \(Self.python): run scripts/test, which installs Tests/Python/requirements.txt")
        guard FileManager.default.isExecutableFile(atPath: Self.python) else { return }
        let (car, key, cleanup) = try exportedRepo(records: 1200)
        defer { cleanup() }
        let (status, output) = try await RepoTestSupport.run(
            Self.python, ["Tests/Python/verify_repo_car.py", car.path, key.publicKey.didKey, "1200"])
        print("python: \(output.trimmingCharacters(in: .whitespacesAndNewlines))")
        #expect(status == 0, "\(output)")
        #expect(output.hasPrefix("OK: did:plc:"))
        // A CAR signed by another key must fail there too.
        let (wrong, _) = try await RepoTestSupport.run(
            Self.python, ["Tests/Python/verify_repo_car.py", car.path, PrivateKey.generate(.secp256k1).publicKey.didKey, "1200"])
        #expect(wrong != 0)
    }

    @Test func cliVerifiesOurCARAndRejectsCorruptOnes() async throws {
        #expect(FileManager.default.isExecutableFile(atPath: Self.pds), "build the pds executable first (swift build)")
        guard FileManager.default.isExecutableFile(atPath: Self.pds) else { return }
        let (car, key, cleanup) = try exportedRepo(records: 150)
        defer { cleanup() }
        let ok = try await RepoTestSupport.run(Self.pds, ["repo", "verify", car.path, "--key", key.publicKey.didKey])
        #expect(ok.status == 0, "\(ok.output)")
        #expect(ok.output.contains("records:   150") && ok.output.contains("signature: verified") && ok.output.hasSuffix("OK\n"))

        let stats = try await RepoTestSupport.run(Self.pds, ["repo", "stats", car.path])
        #expect(stats.status == 0 && stats.output.contains("app.bsky.feed.post: 150"))

        // Flip one byte near the end (inside a block): the CID check fails.
        var bytes = try Data(contentsOf: car)
        bytes[bytes.count - 5] ^= 0x40
        let corrupt = car.deletingLastPathComponent().appendingPathComponent("corrupt.car")
        try bytes.write(to: corrupt)
        let bad = try await RepoTestSupport.run(Self.pds, ["repo", "verify", corrupt.path])
        #expect(bad.status != 0)
        #expect(bad.output.contains("FAILED: CAR block at byte"))

        // Truncated inside its last block. (Cut at half, the CAR ended on a
        // block boundary about once in a hundred runs, ~300 blocks in ~40 KB,
        // and was then refused for a missing block instead.)
        let original = try Data(contentsOf: car)
        try original.prefix(original.count - 1).write(to: corrupt)
        let truncated = try await RepoTestSupport.run(Self.pds, ["repo", "verify", corrupt.path])
        #expect(truncated.status != 0 && truncated.output.contains("FAILED: CAR is truncated"), "\(truncated.output)")

        // Wrong key.
        let wrongKey = try await RepoTestSupport.run(
            Self.pds, ["repo", "verify", car.path, "--key", PrivateKey.generate(.secp256k1).publicKey.didKey])
        #expect(wrongKey.status != 0 && wrongKey.output.contains("FAILED: the commit signature does not verify"))

        // Import into a data directory and export it again.
        let dataDir = car.deletingLastPathComponent().appendingPathComponent("data").path
        let imported = try await RepoTestSupport.run(Self.pds, ["repo", "import", car.path, "--data-dir", dataDir])
        #expect(imported.status == 0 && imported.output.contains("150 records"), "\(imported.output)")
        let again = car.deletingLastPathComponent().appendingPathComponent("again.car").path
        let exported = try await RepoTestSupport.run(
            Self.pds, ["repo", "export", RepoTestSupport.did.string, "--data-dir", dataDir, "--output", again])
        #expect(exported.status == 0, "\(exported.output)")
        let reverify = try await RepoTestSupport.run(Self.pds, ["repo", "verify", again, "--key", key.publicKey.didKey])
        #expect(reverify.status == 0, "\(reverify.output)")

        // A DID argument is checked when it is parsed, before any file is opened.
        let notADID = try await RepoTestSupport.run(Self.pds, ["repo", "export", "alice.example.com", "--data-dir", dataDir])
        #expect(notADID.status != 0 && notADID.output.contains("alice.example.com"), "\(notADID.output)")
        let wrongDID = try await RepoTestSupport.run(Self.pds, ["repo", "verify", car.path, "--did", "did:plc:"])
        #expect(wrongDID.status != 0 && wrongDID.output.contains("did:plc:"), "\(wrongDID.output)")
    }
}
