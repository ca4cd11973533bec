import ATProto
import ArgumentParser
import AsyncHTTPClient
import Foundation
import HummingbirdWSClient
import Logging
import NIOCore
import NIOPosix
import Sequencer
import Synchronization

/// `pds bench firehose`: many loopback `subscribeRepos` consumers while
/// records are written at a fixed rate to a `pds serve` process; then the
/// replay speed of one consumer on `subscribeRepos` and on the
/// Jetstream-format view.
struct FirehoseBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "firehose", abstract: "subscribeRepos fan-out under write load, and replay speed of both streams.")

    @Option(help: "Concurrent subscribeRepos consumers.") var subscribers: Int = 1_000
    @Option(help: "Of those, how many decode every frame to time its delivery.") var timed: Int = 20
    @Option(help: "Commits per second written (createRecord).") var rate: Int = 500
    @Option(help: "Seconds of writing.") var seconds: Double = 10

    func run() async throws {
        Bench.header("firehose (server, writers and consumers share the machine)")
        let server = try await BenchServer()
        defer { server.stop() }
        let http = HTTPClient(eventLoopGroupProvider: .singleton)
        do {
            try await measure(server: server, http: http)
        } catch {
            try? await http.shutdown()
            throw error
        }
        try await http.shutdown()
    }

    func measure(server: BenchServer, http: HTTPClient) async throws {
        let writer = BenchWriter(http: http, base: server.base)
        let accounts = try await writer.createAccounts(10)
        let idleMB = server.residentMB()

        // The consumers.
        let url = "ws://127.0.0.1:\(server.port)/xrpc/com.atproto.sync.subscribeRepos"
        let stats = (0..<subscribers).map { _ in BenchFirehoseConsumer.Stats() }
        let connectStart = ContinuousClock.now
        var channels: [any Channel] = []
        defer { for channel in channels { channel.close(promise: nil) } }
        for (index, consumer) in stats.enumerated() {
            channels.append(
                try await BenchFirehoseConsumer.connect(
                    group: MultiThreadedEventLoopGroup.singleton, host: "127.0.0.1", port: server.port,
                    path: "/xrpc/com.atproto.sync.subscribeRepos", timed: index < timed, stats: consumer
                ).get())
        }
        while stats.contains(where: { !$0.connected.load(ordering: .relaxed) }) {
            guard ContinuousClock.now - connectStart < .seconds(60) else {
                let connected = stats.filter { $0.connected.load(ordering: .relaxed) }.count
                throw ValidationError("only \(connected) of \(subscribers) consumers connected")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        try await Task.sleep(for: .milliseconds(500))
        let connectedMB = server.residentMB()
        Bench.say("\(subscribers) consumers connected in \(Bench.format(Bench.seconds(ContinuousClock.now - connectStart))) s")

        let cpuBefore = server.cpuSeconds()
        let acks = try await writer.write(rate: rate, seconds: seconds, accounts: accounts, port: server.port)
        let serverCPU = server.cpuSeconds() - cpuBefore
        let writtenMB = server.residentMB()
        let expected = acks.count
        let drainStart = ContinuousClock.now
        func live() -> [BenchFirehoseConsumer.Stats] { stats.filter { !$0.cutOff.load(ordering: .relaxed) } }
        while (live().map { $0.received.load(ordering: .relaxed) }.min() ?? expected) < expected
            && ContinuousClock.now - drainStart < .seconds(30)
        {
            try await Task.sleep(for: .milliseconds(5))
        }
        let received = stats.reduce(0) { $0 + $1.received.load(ordering: .relaxed) }
        let window = Bench.seconds(ContinuousClock.now - acks.start)
        let complete = stats.filter { $0.received.load(ordering: .relaxed) >= expected }.count
        let cutOff = stats.filter { $0.cutOff.load(ordering: .relaxed) }.count
        // An event can reach a consumer before its writer has read the
        // acknowledgement: that delivery counts as 0 ms.
        let signedLatencies = stats.prefix(timed).flatMap { consumer in
            consumer.arrivals.withLock { arrivals in
                arrivals.compactMap { arrival -> Double? in
                    guard let ack = acks.times[arrival.key] else { return nil }
                    return Bench.seconds(arrival.at - ack) * 1000
                }
            }
        }
        let latencies = signedLatencies.map { max(0, $0) }.sorted()
        let early = signedLatencies.filter { $0 < 0 }.count

        Bench.report(
            "commits written (\(expected) over \(Bench.format(acks.seconds)) s)", Double(expected) / acks.seconds,
            unit: "commits/s", target: Double(rate))
        Bench.report(
            "  writers' worst lag behind their schedule", Bench.seconds(acks.worstLag.duration) * 1000,
            unit: "ms (\(Bench.format(Bench.seconds(acks.worstLag.at))) s into the writing)")
        Bench.report(
            "  the slowest write", Bench.seconds(acks.slowestWrite.duration) * 1000,
            unit: "ms (sent \(Bench.format(Bench.seconds(acks.slowestWrite.at))) s into the writing)")
        Bench.say(
            "server CPU while writing: \(Bench.format(serverCPU)) s in \(Bench.format(acks.seconds)) s "
                + "(\(Bench.format(serverCPU * 1e6 / Double(max(1, expected * subscribers)))) µs per delivered frame)")
        Bench.report("consumers that received every commit", Double(complete), unit: "", target: Double(subscribers))
        Bench.say("consumers cut off (ConsumerTooSlow): \(cutOff)")
        // Until the last consumer had everything: the writing and the last delivery.
        Bench.report("events delivered, all consumers", Double(received) / window, unit: "events/s")
        func percentile(_ p: Double) -> Double {
            latencies.isEmpty ? 0 : latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))]
        }
        Bench.say("delivery latency from write acknowledgement, \(timed) timed consumers, \(latencies.count) samples:")
        Bench.report("  p50", percentile(0.5), unit: "ms")
        Bench.report("  p99", percentile(0.99), unit: "ms", target: 50, lowerIsBetter: true)
        Bench.say("  received before the writer read its acknowledgement: \(early * 100 / max(1, latencies.count))%")
        Bench.say(
            "server memory: \(Bench.format(idleMB)) MB idle, \(Bench.format(connectedMB)) MB with consumers, "
                + "\(Bench.format(writtenMB)) MB after writing (\(Bench.format((writtenMB - idleMB) * 1024 / Double(subscribers))) KB per consumer)")

        // Replay of the whole log by one consumer on each stream.
        try await Task.sleep(for: .seconds(1))
        let total = try await Self.replay(url: url + "?cursor=0", binary: true, until: nil)
        Bench.report("subscribeRepos replay, one consumer", Double(total.count) / total.seconds, unit: "events/s")
        let jetstream = try await Self.replay(
            url: "ws://127.0.0.1:\(server.port)/subscribe?cursor=0", binary: false, until: nil)
        Bench.report("Jetstream view replay, one consumer", Double(jetstream.count) / jetstream.seconds, unit: "events/s")
    }

    /// One consumer: counts frames; a timed one decodes each and notes
    /// when each commit arrived.
    static func replay(url: String, binary: Bool, until wanted: Int?) async throws -> (count: Int, seconds: Double) {
        var logger = Logger(label: "bench-replay")
        logger.logLevel = .critical
        let latest = Mutex(0)
        let start = ContinuousClock.now
        let end = Mutex(start)
        let reader = Task {
            _ = try await WebSocketClient.connect(url: url, configuration: .init(maxFrameSize: 16 << 20), logger: logger) { inbound, _, _ in
                for try await message in inbound.messages(maxSize: 16 << 20) {
                    switch message {
                    case .binary(let buffer) where binary: _ = try Frames.decode(Array(buffer.readableBytesView))
                    case .text(let text) where !binary: _ = try ATProtoJSON.decode(text, mode: .lenient)
                    default: continue
                    }
                    latest.withLock { $0 += 1 }
                    end.withLock { $0 = .now }
                }
            }
        }
        // Done when nothing more arrives for a second (or `wanted` commits have).
        var last = -1
        while true {
            try await Task.sleep(for: .seconds(1))
            let now = latest.withLock { $0 }
            if now == last || (wanted.map { now >= $0 } ?? false) { break }
            last = now
        }
        reader.cancel()
        return (latest.withLock { $0 }, Bench.seconds(end.withLock { $0 } - start))
    }
}
