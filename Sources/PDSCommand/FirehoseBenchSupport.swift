import ATProto
import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import Synchronization

/// Writes posts over HTTP for `pds bench firehose`, at a fixed rate.
struct BenchWriter: Sendable {
    let http: HTTPClient
    let base: String

    struct Account: Sendable {
        let did: String
        let token: String
    }

    /// The acknowledged writes: the instant each `repo rev` was acknowledged.
    struct Acknowledgements: Sendable {
        let start: ContinuousClock.Instant
        let times: [String: ContinuousClock.Instant]
        /// How long the writing took: the scheduled span (writes / rate),
        /// longer by as much as the last write was sent more than one
        /// writer's interval (writers / rate, 100 ms at 10 writes a second
        /// per writer) after its slot. A writer has one request in flight,
        /// so a lag within its interval (a slow answer, a late timer) does
        /// not lower the rate; one beyond it does.
        let seconds: Double
        /// The latest any write was sent after its slot, in seconds, and when
        /// (seconds into the writing).
        let worstLag: (lag: Double, at: Double)
        /// The slowest write, from sending to its answer, in seconds, and
        /// when it was sent (seconds into the writing).
        let slowestWrite: (took: Double, at: Double)
        var count: Int { times.count }
    }

    func createAccounts(_ count: Int) async throws -> [Account] {
        var accounts: [Account] = []
        for i in 0..<count {
            let body: DataValue = [
                "handle": .string("fh\(i).test"), "email": .string("fh\(i)@example.com"), "password": "bench-password",
            ]
            let reply = try await send(base + "com.atproto.server.createAccount", body: body)
            guard let did = reply["did"]?.stringValue, let token = reply["accessJwt"]?.stringValue else {
                throw ValidationError("createAccount failed: \(reply)")
            }
            accounts.append(Account(did: did, token: token))
        }
        return accounts
    }

    /// Writes `rate` posts a second for `seconds`, the accounts in turn.
    /// Each writer sends one request at a time at its share of the rate, and
    /// there is one per 10 writes a second (at least one per account): the
    /// rate holds while a write takes up to 100 ms, as it would with the
    /// many independent clients of a real server, instead of dropping
    /// whenever the machine is busy.
    func write(rate: Int, seconds: Double, accounts: [Account], port: Int) async throws -> Acknowledgements {
        let writers = max(accounts.count, (rate + 9) / 10)
        // One lean keep-alive connection per writer (see BenchHTTPConnection).
        var connections: [BenchHTTPConnection] = []
        for _ in 0..<writers { connections.append(try await BenchHTTPConnection.connect(host: "127.0.0.1", port: port)) }
        defer { for connection in connections { connection.close() } }
        let pool = connections
        let start = ContinuousClock.now
        let total = Int(Double(rate) * seconds)
        let (times, lastSent, worstLag, slowest) = try await withThrowingTaskGroup(
            of: ([String: ContinuousClock.Instant], ContinuousClock.Instant, (lag: Duration, at: Duration), (took: Duration, at: Duration)).self
        ) { group in
            for w in 0..<writers {
                let account = accounts[w % accounts.count]
                group.addTask {
                    var mine: [String: ContinuousClock.Instant] = [:]
                    var lastSent = start
                    var worstLag = (lag: Duration.zero, at: Duration.zero)
                    var slowest = (took: Duration.zero, at: Duration.zero)
                    // Writer w sends writes w, w + n, w + 2n, ... at their scheduled time.
                    for n in stride(from: w, to: total, by: writers) {
                        let slot = start + .microseconds(Int64(Double(n) * 1_000_000 / Double(rate)))
                        try await Task.sleep(until: slot)
                        let body: DataValue = [
                            "repo": .string(account.did), "collection": "app.bsky.feed.post", "record": Bench.samplePost(n, withImage: false),
                        ]
                        let connection = pool[w]
                        lastSent = .now
                        if lastSent - slot > worstLag.lag { worstLag = (lastSent - slot, slot - start) }
                        let (status, bytes) = try await connection.send(
                            connection.request("POST", "/xrpc/com.atproto.repo.createRecord", json: ATProtoJSON.encode(body), token: account.token))
                        let reply = try ATProtoJSON.decode(bytes.readableBytesView, mode: .lenient)
                        guard status == 200, let rev = reply["commit"]?["rev"]?.stringValue else {
                            throw ValidationError("createRecord failed: \(status) \(reply)")
                        }
                        let answered = ContinuousClock.now
                        mine[account.did + " " + rev] = answered
                        if answered - lastSent > slowest.took { slowest = (answered - lastSent, lastSent - start) }
                    }
                    return (mine, lastSent, worstLag, slowest)
                }
            }
            var all: [String: ContinuousClock.Instant] = [:]
            var lastSent = start
            var worstLag = (lag: Duration.zero, at: Duration.zero)
            var slowest = (took: Duration.zero, at: Duration.zero)
            for try await (part, sent, lag, slow) in group {
                all.merge(part) { a, _ in a }
                lastSent = max(lastSent, sent)
                if lag.lag > worstLag.lag { worstLag = lag }
                if slow.took > slowest.took { slowest = slow }
            }
            return (all, lastSent, worstLag, slowest)
        }
        let scheduled = Double(total) / Double(rate)
        let lastSlot = Double(total - 1) / Double(rate)
        let writerInterval = Double(writers) / Double(rate)
        let lastLag = Bench.seconds(lastSent - start) - lastSlot
        return Acknowledgements(
            start: start, times: times, seconds: scheduled + max(0, lastLag - writerInterval),
            worstLag: (Bench.seconds(worstLag.lag), Bench.seconds(worstLag.at)),
            slowestWrite: (Bench.seconds(slowest.took), Bench.seconds(slowest.at)))
    }

    func send(_ url: String, body: DataValue, token: String? = nil) async throws -> DataValue {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        request.body = .bytes(ByteBuffer(bytes: ATProtoJSON.encode(body)))
        let response = try await http.execute(request, timeout: .seconds(30))
        let bytes = try await response.body.collect(upTo: 16 * 1024 * 1024)
        return try ATProtoJSON.decode(bytes.readableBytesView, mode: .lenient)
    }
}
