import ATCrypto
import ATProto
import ArgumentParser
import CAR
import Foundation
import PDS
import Repo
import ServiceStorage

/// `pds repo …`: check, inspect, import and export repositories as CAR files.
struct RepoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "repo",
        abstract: "Verify, inspect, import and export repositories (CAR files).",
        subcommands: [Verify.self, Stats.self, Import.self, Export.self]
    )

    /// Options naming the service database.
    struct StorageOptions: ParsableArguments {
        @Option(name: .long, help: "The data directory holding pds.sqlite.")
        var dataDir: String = "./data"

        func open() throws -> RepoStorage {
            try FileManager.default.createDirectory(atPath: dataDir, withIntermediateDirectories: true)
            return RepoStorage(pool: try ServiceDatabase.open(path: dataDir + "/pds.sqlite"))
        }
    }

    static func openCAR(_ path: String) throws -> FileByteSource {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw ValidationError("cannot open '\(path)'")
        }
        return FileByteSource(handle)
    }

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Verify a repository CAR: commit, signature, MST structure and records.")

        @Argument(help: "The CAR file.") var file: String
        @Option(help: "The repository's signing key as did:key, to check the commit signature.") var key: String?
        @Option(help: "The DID the repository must belong to.") var did: DID?

        func run() throws {
            let publicKey = try key.map { try PublicKey(didKey: $0) }
            do {
                let result = try RepoVerifier.verifyCAR(try RepoCommand.openCAR(file), expectedDID: did, key: publicKey)
                print("did:       \(result.did)")
                print("rev:       \(result.rev)")
                print("commit:    \(result.commitCID)")
                print("records:   \(result.recordCount)")
                print("signature: \(result.signatureVerified ? "verified" : "not checked (pass --key did:key:...)")")
                print("OK")
            } catch {
                print("FAILED: \(error)")
                throw ExitCode.failure
            }
        }
    }

    struct Stats: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print what a repository CAR holds.")

        @Argument(help: "The CAR file.") var file: String

        func run() throws {
            let size = (try FileManager.default.attributesOfItem(atPath: file)[.size] as? Int) ?? 0
            let result = try RepoVerifier.verifyCAR(try RepoCommand.openCAR(file))
            print("did:       \(result.did)")
            print("rev:       \(result.rev)")
            print("commit:    \(result.commitCID)")
            print("mst root:  \(result.data)")
            print("bytes:     \(size)")
            print("blocks:    \(result.blockCount)")
            print("records:   \(result.recordCount)")
            for (collection, count) in result.collections.sorted(by: { $0.key < $1.key }) {
                print("  \(collection): \(count)")
            }
        }
    }

    struct Import: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Verify a repository CAR and store it, replacing that DID's repository.")

        @Argument(help: "The CAR file.") var file: String
        @OptionGroup var storage: StorageOptions

        func run() throws {
            let result = try storage.open().importCAR(try RepoCommand.openCAR(file), alsoInTransaction: RepoImport.afterImport)
            print("imported \(result.did) at rev \(result.rev): \(result.recordCount) records")
        }
    }

    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Write a stored repository as a CAR file.")

        @Argument(help: "The repository's DID.") var did: DID
        @Option(name: .shortAndLong, help: "Output file (default: standard output).") var output: String?
        @Option(help: "Only blocks written after this rev.") var since: String?
        @OptionGroup var storage: StorageOptions

        func run() throws {
            let out: FileHandle
            if let output {
                guard FileManager.default.createFile(atPath: output, contents: nil),
                    let handle = FileHandle(forWritingAtPath: output)
                else { throw ValidationError("cannot write '\(output)'") }
                out = handle
            } else {
                out = FileHandle.standardOutput
            }
            let repos = try storage.open()
            guard try repos.currentCommit(did: did) != nil else {
                throw ValidationError("no repository for \(did) in \(storage.dataDir)")
            }
            try repos.exportCAR(did: did, since: since) { try out.write(contentsOf: Data($0)) }
            try out.close()
        }
    }
}
