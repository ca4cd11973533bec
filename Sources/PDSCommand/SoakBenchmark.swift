import ATProto
import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOPosix

/// `pds bench soak`: a mixed load (writes, reads, blob uploads, firehose
/// consumers) against a `pds serve` process for a long time, printing the
/// server's resident memory, file descriptors, threads, WAL and database
/// size, and p99 latencies once per sample, then how much of each grew in
/// the last third of the run: what keeps growing there does not level off.
struct SoakBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "soak", abstract: "A mixed load for N minutes; RSS, file descriptors, WAL size and p99 over time.")

    @Option(help: "Minutes to run.") var minutes: Double = 60
    @Option(help: "Seconds between samples.") var sampleSeconds: Double = 60
    @Option(help: "Write requests a second (creates, and deletes of the oldest once a writer holds its window).")
    var writeRate: Double = 100
    @Option(help: "Read requests a second (getRecord, and listRecords every tenth).") var readRate: Double = 200
    @Option(help: "Blob uploads a second.") var blobRate: Double = 2
    @Option(help: "Firehose consumers (one is replaced at each sample).") var consumers: Int = 8
    @Option(help: "Accounts.") var accounts: Int = 10
    @Option(help: "Records each writer keeps before deleting its oldest.") var window: Int = 500
    @Option(help: "The server's event log limit (PDS_SEQUENCER_MAX_EVENTS), so the log levels off within the run.")
    var maxEvents: Int = 200_000

    func validate() throws {
        // The accounts' access tokens live two hours; the soak does not refresh them.
        guard minutes > 0, minutes <= 115 else { throw ValidationError("--minutes must be between 0 and 115") }
        guard sampleSeconds >= 1, writeRate > 0, readRate > 0, blobRate >= 0, consumers >= 0, accounts >= 1, window >= 1 else {
            throw ValidationError("the rates, counts and the window must be positive")
        }
    }

    func run() async throws {
        Bench.header("soak (server and load generator share the machine)")
        let server = try await BenchServer(environment: [
            "PDS_SEQUENCER_MAX_EVENTS": String(maxEvents),
            // Unreferenced blobs are collected within the run (the default is an hour).
            "PDS_BLOB_GRACE_PERIOD": "300",
        ])
        defer { server.stop() }
        let http = HTTPClient(eventLoopGroupProvider: .singleton)
        let created: [SoakLoad.Account]
        do {
            created = try await createAccounts(http, base: server.base)
            try await http.shutdown()
        } catch {
            try? await http.shutdown()
            throw error
        }
        let load = SoakLoad(port: server.port, accounts: created, window: window)
        let writers = max(1, Int((writeRate / 20).rounded(.up)))
        let readers = max(1, Int((readRate / 50).rounded(.up)))
        Bench.say(
            "load: \(Bench.format(writeRate)) writes/s over \(writers) connections, \(Bench.format(readRate)) reads/s over \(readers), "
                + "\(Bench.format(blobRate)) blob uploads/s, \(consumers) firehose consumers, \(accounts) accounts, "
                + "\(window) records kept per writer, event log limit \(maxEvents)")
        let firehose = SoakFirehose(port: server.port)
        for _ in 0..<consumers { try await firehose.add() }

        var samples: [SoakSample] = []
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<writers { group.addTask { await load.writer(i, rate: writeRate / Double(writers)) } }
            for i in 0..<readers { group.addTask { await load.reader(i, rate: readRate / Double(readers)) } }
            if blobRate > 0 { group.addTask { await load.uploader(rate: blobRate) } }

            SoakSample.printHeader()
            let start = ContinuousClock.now
            let end = start + .seconds(minutes * 60)
            var cpuBefore = server.cpuSeconds()
            var lastSample = start
            var firehoseBefore = firehose.received()
            while ContinuousClock.now < end {
                try await Task.sleep(until: min(end, lastSample + .seconds(sampleSeconds)))
                let now = ContinuousClock.now
                let seconds = Bench.seconds(now - lastSample)
                lastSample = now
                let figures = load.takeInterval()
                let cpu = server.cpuSeconds()
                let received = firehose.received()
                let sample = SoakSample(
                    minute: Bench.seconds(now - start) / 60, interval: figures, seconds: seconds,
                    server: server, cpuShare: (cpu - cpuBefore) / seconds,
                    firehoseRate: Double(received - firehoseBefore) / seconds, consumers: firehose.connected())
                cpuBefore = cpu
                firehoseBefore = received
                sample.printRow()
                if let error = figures.lastError { Bench.say("  last error: \(error)") }
                samples.append(sample)
                // Consumers come and go on a real server: replace one.
                try await firehose.replaceOldest()
            }
            load.stopping.store(true, ordering: .relaxed)
            try await group.waitForAll()
        }
        firehose.closeAll()
        SoakSample.printGrowth(samples)
    }

    func createAccounts(_ http: HTTPClient, base: String) async throws -> [SoakLoad.Account] {
        var created: [SoakLoad.Account] = []
        for i in 0..<accounts {
            var request = HTTPClientRequest(url: base + "com.atproto.server.createAccount")
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/json")
            let body: DataValue = ["handle": .string("soak\(i).test"), "email": .string("soak\(i)@example.com"), "password": "soak-password"]
            request.body = .bytes(ByteBuffer(bytes: ATProtoJSON.encode(body)))
            let response = try await http.execute(request, timeout: .seconds(30))
            let reply = try ATProtoJSON.decode(try await response.body.collect(upTo: 1 << 20).readableBytesView, mode: .lenient)
            guard let did = reply["did"]?.stringValue, let token = reply["accessJwt"]?.stringValue else {
                throw ValidationError("createAccount failed: \(reply)")
            }
            created.append(.init(did: did, token: token))
        }
        return created
    }
}
