import ATCrypto
import ATProto
import ArgumentParser
import Foundation

/// `pds bench …`: measured figures for the project's performance targets.
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Run benchmarks and print figures with their targets (build with -c release).",
        subcommands: [CodecBenchmark.self, RepoBenchmark.self, ServerBenchmark.self, FirehoseBenchmark.self, FeedGenBenchmark.self, DashboardBenchmark.self, SoakBenchmark.self]
    )
}

/// DAG-CBOR, CID and signature throughput.
struct CodecBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "codec", abstract: "DAG-CBOR encode/decode, CID and signing throughput.")

    @Option(help: "Seconds to run each measurement.") var seconds: Double = 1.0

    func run() throws {
        Bench.header("codec")
        let post = Bench.samplePost()
        let bytes = DAGCBOR.encode(post)
        Bench.say("sample record: app.bsky.feed.post with facets, reply and image embed, \(bytes.count) bytes")

        var sink = 0
        let enc = Bench.repeatFor(seconds, batch: 1000) { sink &+= DAGCBOR.encode(post).count }
        Bench.report("DAG-CBOR encode", Double(bytes.count * enc.iterations) / enc.seconds / 1e6, unit: "MB/s", target: 200)
        let dec = try Bench.repeatFor(seconds, batch: 1000) {
            if case .map(let m) = try DAGCBOR.decode(bytes) { sink &+= m.count }
        }
        Bench.report("DAG-CBOR decode", Double(bytes.count * dec.iterations) / dec.seconds / 1e6, unit: "MB/s", target: 150)
        let json = ATProtoJSON.encode(post)
        let jsonDecode = try Bench.repeatFor(seconds, batch: 1000) {
            if case .map(let m) = try ATProtoJSON.decode(json) { sink &+= m.count }
        }
        Bench.report("atproto JSON decode", Double(json.count * jsonDecode.iterations) / jsonDecode.seconds / 1e6, unit: "MB/s")
        let cid = Bench.repeatFor(seconds, batch: 1000) { sink &+= Int(CID.compute(bytes).digest[0]) }
        Bench.report("CID of the record (SHA-256)", Double(cid.iterations) / cid.seconds, unit: "CIDs/s")

        for type in [KeyType.secp256k1, .p256, .ed25519] {
            let key = PrivateKey.generate(type)
            let message = bytes
            let sign = try Bench.repeatFor(seconds, batch: 100) { sink &+= try key.sign(message).count }
            let signature = try key.sign(message)
            let verify = Bench.repeatFor(seconds, batch: 100) {
                if key.publicKey.verify(signature: signature, message: message) { sink &+= 1 }
            }
            let target: Double? = type == .secp256k1 ? 20_000 : nil
            Bench.report("\(type.rawValue) sign", Double(sign.iterations) / sign.seconds, unit: "ops/s", target: target)
            Bench.report("\(type.rawValue) verify", Double(verify.iterations) / verify.seconds, unit: "ops/s")
        }
        if sink == 42 { Bench.say("") }  // keeps the work from being optimised away
    }
}
