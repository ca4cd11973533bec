import ATCrypto
import ATProto
import Foundation
import ServiceStorage
import TestSupport
import Repo

/// Shared helpers: a temporary database, sample records and process runs.
enum RepoTestSupport {
    static let did = try! DID("did:plc:abcdefghijklmnopqrstuvwx")

    /// A fresh service database in a temporary folder.
    static func storage() throws -> (RepoStorage, URL) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("repo-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let pool = try ServiceDatabase.open(path: dir.appendingPathComponent("pds.sqlite").path)
        return (RepoStorage(pool: pool), dir)
    }

    static func post(_ n: Int) -> DataValue {
        [
            "$type": "app.bsky.feed.post",
            "text": .string("post number \(n) #atrarium_0badcafe"),
            "createdAt": "2026-11-23T10:00:00.000Z",
            "langs": ["en"],
        ]
    }

    /// A stored repository with `count` posts, written in commits of `batch`.
    static func populated(
        _ storage: RepoStorage, key: PrivateKey, count: Int, batch: Int = 50, generator: TIDGenerator = TIDGenerator()
    ) throws -> [String] {
        var rev = generator.next()
        try storage.apply(try Repository.create(did: did, key: key, rev: rev))
        var rkeys: [String] = []
        var n = 0
        while n < count {
            let repo = try storage.repository(did: did)!
            var writes: [RepoWrite] = []
            for _ in 0..<min(batch, count - n) {
                let rkey = generator.next().string
                rkeys.append(rkey)
                writes.append(.create(collection: try NSID("app.bsky.feed.post"), rkey: try RecordKey(rkey), record: post(n)))
                n += 1
            }
            rev = try generator.next(after: rev)
            try storage.apply(try repo.apply(writes, key: key, rev: rev))
        }
        return rkeys
    }

    /// The package root, found from this file's path.
    static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Runs a program in the package root and returns its exit status
    /// and combined output.
    static func run(_ executable: String, _ arguments: [String]) async throws -> (status: Int32, output: String) {
        let result = try await ChildProcess.run(executable, arguments, directory: packageRoot.path)
        return (result.status, result.output)
    }
}
