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
        /// The latest any write was sent after its slot.
        let worstLag: Worst
        /// The slowest write, from sending to its answer.
        let slowestWrite: Worst
        var count: Int { times.count }
    }

    /// The longest of some delay seen while writing, and when it began
    /// (since the start of the writing).
    struct Worst: Sendable {
        var duration = Duration.zero
        var at = Duration.zero

        mutating func note(_ delay: Duration, at moment: Duration) {
            if delay > duration { (duration, at) = (delay, moment) }
        }

        mutating func note(_ other: Worst) { note(other.duration, at: other.at) }
    }

    /// What one writer saw.
    private struct WriterOutcome: Sendable {
        var times: [String: ContinuousClock.Instant] = [:]
        var lastSent: ContinuousClock.Instant
        var worstLag = Worst()
        var slowest = Worst()
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
        let outcome = try await withThrowingTaskGroup(of: WriterOutcome.self) { group in
            for w in 0..<writers {
                let account = accounts[w % accounts.count]
                group.addTask {
                    var mine = WriterOutcome(lastSent: start)
                    // Writer w sends writes w, w + n, w + 2n, ... at their scheduled time.
                    for n in stride(from: w, to: total, by: writers) {
                        let slot = start + .microseconds(Int64(Double(n) * 1_000_000 / Double(rate)))
                        try await Task.sleep(until: slot)
                        let body: DataValue = [
                            "repo": .string(account.did), "collection": "app.bsky.feed.post", "record": Bench.samplePost(n, withImage: false),
                        ]
                        let connection = pool[w]
                        let sent = ContinuousClock.now
                        mine.lastSent = sent
                        mine.worstLag.note(sent - slot, at: slot - start)
                        let (status, bytes) = try await connection.send(
                            connection.request("POST", "/xrpc/com.atproto.repo.createRecord", json: ATProtoJSON.encode(body), token: account.token))
                        let reply = try ATProtoJSON.decode(bytes.readableBytesView, mode: .lenient)
                        guard status == 200, let rev = reply["commit"]?["rev"]?.stringValue else {
                            throw ValidationError("createRecord failed: \(status) \(reply)")
                        }
                        let answered = ContinuousClock.now
                        mine.times[account.did + " " + rev] = answered
                        mine.slowest.note(answered - sent, at: sent - start)
                    }
                    return mine
                }
            }
            var all = WriterOutcome(lastSent: start)
            for try await part in group {
                all.times.merge(part.times) { a, _ in a }
                all.lastSent = max(all.lastSent, part.lastSent)
                all.worstLag.note(part.worstLag)
                all.slowest.note(part.slowest)
            }
            return all
        }
        let scheduled = Double(total) / Double(rate)
        let lastSlot = Double(total - 1) / Double(rate)
        let writerInterval = Double(writers) / Double(rate)
        let lastLag = Bench.seconds(outcome.lastSent - start) - lastSlot
        return Acknowledgements(
            start: start, times: outcome.times, seconds: scheduled + max(0, lastLag - writerInterval),
            worstLag: outcome.worstLag, slowestWrite: outcome.slowest)
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
