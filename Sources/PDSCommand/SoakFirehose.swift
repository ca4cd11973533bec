import Foundation
import NIOCore
import NIOPosix
import Synchronization

/// The firehose consumers of `pds bench soak`: live `subscribeRepos`
/// connections that count the frames they get, one of them replaced at
/// every sample (so connects and disconnects run for the whole soak too).
final class SoakFirehose: Sendable {
    let port: Int
    private let consumers = Mutex<[(channel: any Channel, stats: BenchFirehoseConsumer.Stats)]>([])
    /// Frames of the consumers that were replaced.
    private let retired = Atomic<Int>(0)

    init(port: Int) {
        self.port = port
    }

    func add() async throws {
        let stats = BenchFirehoseConsumer.Stats()
        let channel = try await BenchFirehoseConsumer.connect(
            group: MultiThreadedEventLoopGroup.singleton, host: "127.0.0.1", port: port,
            path: "/xrpc/com.atproto.sync.subscribeRepos", timed: false, stats: stats
        ).get()
        consumers.withLock { $0.append((channel, stats)) }
    }

    func replaceOldest() async throws {
        let oldest = consumers.withLock { $0.isEmpty ? nil : $0.removeFirst() }
        guard let oldest else { return }
        retired.add(oldest.stats.received.load(ordering: .relaxed), ordering: .relaxed)
        try? await oldest.channel.close()
        try await add()
    }

    /// Frames received by all consumers so far.
    func received() -> Int {
        retired.load(ordering: .relaxed) + consumers.withLock { $0.reduce(0) { $0 + $1.stats.received.load(ordering: .relaxed) } }
    }

    /// Consumers still connected and reading (one the server cut off with
    /// an error frame, or closed, is not).
    func connected() -> Int {
        consumers.withLock { $0.filter { $0.channel.isActive && !$0.stats.cutOff.load(ordering: .relaxed) }.count }
    }

    func closeAll() {
        for consumer in consumers.withLock({ $0 }) { consumer.channel.close(promise: nil) }
    }
}
