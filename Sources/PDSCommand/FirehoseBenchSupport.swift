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
        var count: Int { times.count }
        /// From the first write to the last acknowledgement.
        var seconds: Double { times.values.max().map { Bench.seconds($0 - start) } ?? 0 }
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

    /// Writes `rate` posts a second for `seconds`, each account in turn
    /// (one writer per account, each at its share of the rate).
    func write(rate: Int, seconds: Double, accounts: [Account], port: Int) async throws -> Acknowledgements {
        // One lean keep-alive connection per writer (see BenchHTTPConnection).
        var connections: [BenchHTTPConnection] = []
        for _ in accounts { connections.append(try await BenchHTTPConnection.connect(host: "127.0.0.1", port: port)) }
        defer { for connection in connections { connection.close() } }
        let pool = connections
        let start = ContinuousClock.now
        let total = Int(Double(rate) * seconds)
        let times = try await withThrowingTaskGroup(of: [String: ContinuousClock.Instant].self) { group in
            for (w, account) in accounts.enumerated() {
                group.addTask {
                    var mine: [String: ContinuousClock.Instant] = [:]
                    // Writer w sends writes w, w + n, w + 2n, ... at their scheduled time.
                    for n in stride(from: w, to: total, by: accounts.count) {
                        try await Task.sleep(until: start + .microseconds(Int64(Double(n) * 1_000_000 / Double(rate))))
                        let body: DataValue = [
                            "repo": .string(account.did), "collection": "app.bsky.feed.post", "record": Bench.samplePost(n, withImage: false),
                        ]
                        let connection = pool[w]
                        let (status, bytes) = try await connection.send(
                            connection.request("POST", "/xrpc/com.atproto.repo.createRecord", json: ATProtoJSON.encode(body), token: account.token))
                        let reply = try ATProtoJSON.decode(bytes.readableBytesView, mode: .lenient)
                        guard status == 200, let rev = reply["commit"]?["rev"]?.stringValue else {
                            throw ValidationError("createRecord failed: \(status) \(reply)")
                        }
                        mine[account.did + " " + rev] = .now
                    }
                    return mine
                }
            }
            var all: [String: ContinuousClock.Instant] = [:]
            for try await part in group { all.merge(part) { a, _ in a } }
            return all
        }
        return Acknowledgements(start: start, times: times)
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
