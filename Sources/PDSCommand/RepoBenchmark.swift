import ATCrypto
import ATProto
import ArgumentParser
import CAR
import Foundation
import MST
import Repo
import ServiceStorage

/// MST build, CAR export and verification, and per-commit cost on a large repo.
struct RepoBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "repo", abstract: "MST build, CAR export/verify and commit cost on a large repository.")

    @Option(help: "Records in the repository.") var records: Int = 100_000
    @Option(help: "Single-record commits to time on the large repository.") var commits: Int = 200
    @Option(help: "A Python with atmst installed, to compare (default: .build/python-venv/bin/python if present).")
    var python: String?

    func run() throws {
        Bench.header("repo, \(records) records")
        let generator = TIDGenerator()
        var entries: [(key: String, value: CID)] = []
        var recordBlocks: [CID: [UInt8]] = [:]
        entries.reserveCapacity(records)
        for i in 0..<records {
            let bytes = DAGCBOR.encode(Bench.samplePost(i))
            let cid = CID.compute(bytes)
            recordBlocks[cid] = bytes
            entries.append(("app.bsky.feed.post/\(generator.next().string)", cid))
        }

        var bulkTree = MerkleSearchTree(store: MemoryBlockStore())
        var nodes: [CID: [UInt8]] = [:]
        let bulk = try Bench.time {
            bulkTree = try MerkleSearchTree.build(store: MemoryBlockStore(), entries: entries)
            nodes = bulkTree.serialize().blocks
        }
        Bench.report("MST build, bulk (with node CIDs)", bulk, unit: "s", target: 1.5, lowerIsBetter: true)

        var oneByOne = MerkleSearchTree(store: MemoryBlockStore())
        let single = try Bench.time {
            for (key, value) in entries { try oneByOne.put(key, value) }
            _ = oneByOne.serialize()
        }
        Bench.report("MST build, one by one in memory", single, unit: "s", target: 5, lowerIsBetter: true)
        guard oneByOne.rootCID == bulkTree.rootCID else { throw ValidationError("bulk and incremental roots differ") }
        Bench.say("  \(nodes.count) MST nodes, root \(bulkTree.rootCID)")

        // A signed repository of those records, as a CAR in memory.
        let key = PrivateKey.generate(.secp256k1)
        let did = try DID("did:plc:benchbenchbenchbenchben")
        let commit = try SignedCommit.sign(did: did, data: bulkTree.rootCID, rev: generator.next().string, key: key)
        var blocks = nodes.merging(recordBlocks) { a, _ in a }
        blocks[commit.cid] = commit.bytes
        var car: [UInt8] = []
        let write = try Bench.time {
            car.reserveCapacity(64 << 20)
            var writer = CARWriter(roots: [commit.cid]) { car.append(contentsOf: $0) }
            try writer.write(cid: commit.cid, bytes: commit.bytes)
            for (cid, bytes) in blocks where cid != commit.cid { try writer.write(cid: cid, bytes: bytes) }
            try writer.finish()
        }
        let megabytes = Double(car.count) / 1e6
        Bench.say("  CAR: \(car.count) bytes, \(blocks.count) blocks")
        Bench.report("CAR write from memory", megabytes / write, unit: "MB/s")

        let verify = try Bench.time {
            _ = try RepoVerifier.verifyCAR(InMemoryByteSource(car), expectedDID: did, key: key.publicKey)
        }
        Bench.report("CAR verify (hashes, signature, MST walk)", megabytes / verify, unit: "MB/s", target: 100)

        // The same repository in SQLite: import, export, and single-record commits.
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pds-bench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let storage = RepoStorage(pool: try ServiceDatabase.open(path: dir.appendingPathComponent("bench.sqlite").path))
        let importTime = try Bench.time { try storage.importCAR(InMemoryByteSource(car)) }
        Bench.report("import into SQLite (verify + write)", megabytes / importTime, unit: "MB/s")
        var exported = 0
        let export = try Bench.time { try storage.exportCAR(did: did) { exported += $0.count } }
        Bench.report("CAR export from SQLite (getRepo path)", Double(exported) / 1e6 / export, unit: "MB/s", target: 200)

        var blocksWritten = 0
        var firehoseBlocks = 0
        var rev = try TID(commit.rev)
        let writes = try Bench.time {
            for i in 0..<commits {
                guard let repo = try storage.repository(did: did) else { throw ValidationError("repository vanished") }
                rev = try generator.next(after: rev)
                let result = try repo.apply(
                    [.create(collection: try NSID("app.bsky.feed.post"), rkey: RecordKey(rev), record: Bench.samplePost(records + i))],
                    key: key, rev: rev)
                try storage.apply(result)
                blocksWritten += result.newBlocks.count
                firehoseBlocks += result.firehoseBlocks.count
            }
        }
        Bench.report("createRecord-sized commit on this repo", writes / Double(commits) * 1000, unit: "ms/commit")
        Bench.say("  \(Double(blocksWritten) / Double(commits)) blocks written and \(Double(firehoseBlocks) / Double(commits)) firehose blocks per commit")

        try compareWithAtmst(entries: entries, swiftSeconds: single, root: bulkTree.rootCID)
    }

    /// Builds the same tree with atmst (Python), one record at a time.
    func compareWithAtmst(entries: [(key: String, value: CID)], swiftSeconds: Double, root: CID) throws {
        let interpreter = python ?? ".build/python-venv/bin/python"
        guard FileManager.default.isExecutableFile(atPath: interpreter) else {
            Bench.say("atmst comparison: no Python at \(interpreter) (run scripts/test once, or pass --python)")
            return
        }
        let input = FileManager.default.temporaryDirectory.appendingPathComponent("atmst-\(UUID().uuidString).txt")
        defer { try? FileManager.default.removeItem(at: input) }
        try entries.map { "\($0.key) \($0.value)" }.joined(separator: "\n").write(to: input, atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: interpreter)
        process.arguments = ["scripts/bench/atmst_build.py", input.path]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        let fields = Dictionary(
            uniqueKeysWithValues: output.split(whereSeparator: \.isWhitespace).compactMap { part -> (String, String)? in
                let kv = part.split(separator: "=", maxSplits: 1)
                return kv.count == 2 ? (String(kv[0]), String(kv[1])) : nil
            })
        guard let seconds = fields["seconds"].flatMap(Double.init), let atmstRoot = fields["root"] else {
            Bench.say("atmst comparison failed: \(output)")
            return
        }
        Bench.report("atmst (Python) build, one by one", seconds, unit: "s")
        Bench.say("  Swift one-by-one is \(String(format: "%.1f", seconds / swiftSeconds))x faster; roots \(atmstRoot == root.string ? "agree" : "DIFFER: \(atmstRoot)")")
    }
}
