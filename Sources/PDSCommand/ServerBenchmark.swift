import ATProto
import ArgumentParser
import AsyncHTTPClient
import Foundation
#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif
#if canImport(Glibc)
    import Glibc
#endif
import HTTPTypes
import Logging
import NIOCore
import PDS

/// createRecord, getRecord and listRecords over loopback HTTP against a
/// `pds serve` process on a temporary data directory.
struct ServerBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "server", abstract: "HTTP throughput and latency of record writes and reads on loopback.")

    @Option(help: "Concurrent clients.") var clients: Int = 16
    @Flag(help: "Measure createRecord with OAuth DPoP tokens too, alternating with session tokens, and print the ratio.")
    var oauth = false
    @Option(help: "Accounts the clients write to.") var accounts: Int = 10
    @Option(help: "Seconds per measurement.") var seconds: Double = 5
    @Option(help: "The server's getRecord cache in MiB (unset: its default; 0: off, every read goes to the database).")
    var recordCacheMb: Int?
    @Option(help: "The server's durability: normal (survives a process crash) or full (a sync per commit group; survives power loss).")
    var durability: String?

    func run() async throws {
        Bench.header("server (server and load generator share the machine)")
        // The server runs as its own process (`pds serve`), as it does in production.
        var environment: [String: String] = [:]
        if let recordCacheMb { environment["PDS_RECORD_CACHE_MB"] = String(recordCacheMb) }
        if let durability { environment["PDS_DURABILITY"] = durability }
        let server = try await BenchServer(environment: environment)
        defer { server.stop() }
        let base = server.base

        var httpConfig = HTTPClient.Configuration()
        httpConfig.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: clients)
        let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: httpConfig)
        do {
            try await measure(http: http, base: base, server: server)
        } catch {
            try? await http.shutdown()
            throw error
        }
        try await http.shutdown()
    }

    func measure(http: HTTPClient, base: String, server: BenchServer) async throws {
        let port = server.port

        // Accounts.
        Bench.say("creating \(accounts) accounts")
        var sessions: [(did: String, token: String)] = []
        for i in 0..<accounts {
            let body: DataValue = ["handle": .string("bench\(i).test"), "email": .string("bench\(i)@example.com"), "password": "bench-password"]
            let reply = try await send(http, base + "com.atproto.server.createAccount", body: body)
            guard let did = reply["did"]?.stringValue, let token = reply["accessJwt"]?.stringValue else {
                throw ValidationError("createAccount failed: \(reply)")
            }
            sessions.append((did, token))
        }
        let all = sessions

        // The load: one keep-alive connection per client (see BenchHTTPConnection).
        var connections: [BenchHTTPConnection] = []
        for _ in 0..<clients { connections.append(try await BenchHTTPConnection.connect(host: "127.0.0.1", port: port)) }
        defer { for connection in connections { connection.close() } }
        let pool = connections

        // createRecord.
        let writes = try await drive(pool, server: server) { client, n in
            let session = all[(client + n) % all.count]
            let body: DataValue = [
                "repo": .string(session.did), "collection": "app.bsky.feed.post", "record": Bench.samplePost(n + client * 1_000_000, withImage: false),
            ]
            return pool[client].request("POST", "/xrpc/com.atproto.repo.createRecord", json: ATProtoJSON.encode(body), token: session.token)
        } check: { status, reply in
            status == 200 && reply.contains("\"uri\"") ? nil : "createRecord failed: \(status) \(String(buffer: reply))"
        }
        report("createRecord", writes, throughputTarget: 2_000, p99Target: 20)
        if oauth { try await compareOAuth(server: server, pool: pool, sessions: all, first: writes) }

        // Reads of what was written.
        let listed = try await send(
            http, base + "com.atproto.repo.listRecords?repo=\(all[0].did)&collection=app.bsky.feed.post&limit=100")
        let rkeys = listed["records"]?.arrayValue?.compactMap { $0["uri"]?.stringValue?.split(separator: "/").last.map(String.init) } ?? []
        guard !rkeys.isEmpty else { throw ValidationError("no records to read") }
        let reads = try await drive(pool, server: server) { client, n in
            pool[client].request(
                "GET", "/xrpc/com.atproto.repo.getRecord?repo=\(all[0].did)&collection=app.bsky.feed.post&rkey=\(rkeys[(client * 7 + n) % rkeys.count])")
        } check: { status, reply in
            status == 200 && reply.contains("\"value\"") ? nil : "getRecord failed: \(status) \(String(buffer: reply))"
        }
        report("getRecord", reads, throughputTarget: 15_000, p99Target: nil)
        let lists = try await drive(pool, server: server) { client, _ in
            pool[client].request("GET", "/xrpc/com.atproto.repo.listRecords?repo=\(all[client % all.count].did)&collection=app.bsky.feed.post&limit=50")
        } check: { status, reply in
            status == 200 && reply.contains("\"records\"") ? nil : "listRecords failed: \(status)"
        }
        report("listRecords (50 records)", lists, throughputTarget: nil, p99Target: nil)
        // The floor: the HTTP server, routing and middleware, no database.
        let health = try await drive(pool, server: server) { client, _ in
            pool[client].request("GET", "/xrpc/_health")
        } check: { status, _ in
            status == 200 ? nil : "_health failed: \(status)"
        }
        report("_health (HTTP floor, no database)", health, throughputTarget: nil, p99Target: nil)
    }

    /// createRecord with OAuth access tokens and a DPoP proof per request
    /// (signed before each run), against session tokens, alternating the two
    /// three times.
    func compareOAuth(
        server: BenchServer, pool: [BenchHTTPConnection], sessions: [(did: String, token: String)], first: LoadResult
    ) async throws {
        Bench.say("signing \(sessions.count) accounts in through OAuth")
        // The pages answer with redirects the client must read, not follow.
        let forms = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(redirectConfiguration: .disallow))
        var clients: [BenchOAuthClient] = []
        do {
            for i in 0..<sessions.count {
                clients.append(
                    try await BenchOAuthClient.signIn(
                        http: forms, address: "http://127.0.0.1:\(server.port)", handle: "bench\(i).test", password: "bench-password"))
            }
        } catch {
            try? await forms.shutdown()
            throw error
        }
        try await forms.shutdown()
        let oauthClients = clients
        var sessionRates = [Double(first.count) / first.seconds]
        var oauthRates: [Double] = []
        for round in 0..<3 {
            // The proofs are signed before the run, as if the clients were
            // other machines: signing one here (an ES256 signature, ~50 µs)
            // would take the two cores from the server and measure the load
            // generator instead. A client that outruns its proofs signs more.
            let perClient = max(200, Int(sessionRates.max()! * seconds * 1.5) / self.clients)
            let path = "/xrpc/com.atproto.repo.createRecord"
            let proofs = (0..<self.clients).map { client in
                (0..<perClient).map { n in oauthClients[(client + n) % oauthClients.count].proof(htm: "POST", path: path) }
            }
            let dpop = try await drive(pool, server: server) { client, n in
                let session = oauthClients[(client + n) % oauthClients.count]
                let body: DataValue = [
                    "repo": .string(session.did), "collection": "app.bsky.feed.post",
                    "record": Bench.samplePost(n + client * 1_000_000 + 500_000, withImage: false),
                ]
                let proof = n < proofs[client].count ? proofs[client][n] : session.proof(htm: "POST", path: path)
                return pool[client].request("POST", path, json: ATProtoJSON.encode(body), dpopToken: session.accessToken, proof: proof)
            } check: { status, reply in
                status == 200 && reply.contains("\"uri\"") ? nil : "createRecord over DPoP failed: \(status) \(String(buffer: reply))"
            }
            report("createRecord, OAuth DPoP tokens (round \(round + 1))", dpop, throughputTarget: nil, p99Target: nil)
            oauthRates.append(Double(dpop.count) / dpop.seconds)
            if round == 2 { break }
            let again = try await drive(pool, server: server) { client, n in
                let session = sessions[(client + n) % sessions.count]
                let body: DataValue = [
                    "repo": .string(session.did), "collection": "app.bsky.feed.post",
                    "record": Bench.samplePost(n + client * 1_000_000 + 700_000 + round * 50_000, withImage: false),
                ]
                return pool[client].request("POST", "/xrpc/com.atproto.repo.createRecord", json: ATProtoJSON.encode(body), token: session.token)
            } check: { status, reply in
                status == 200 && reply.contains("\"uri\"") ? nil : "createRecord failed: \(status)"
            }
            report("createRecord, session tokens (round \(round + 2))", again, throughputTarget: nil, p99Target: nil)
            sessionRates.append(Double(again.count) / again.seconds)
        }
        let sessionMean = sessionRates.reduce(0, +) / Double(sessionRates.count)
        let oauthMean = oauthRates.reduce(0, +) / Double(oauthRates.count)
        Bench.say(
            String(
                format: "createRecord: OAuth DPoP %.0f/s vs session %.0f/s: ratio %.2f (target ≥ 0.90)", oauthMean, sessionMean,
                oauthMean / sessionMean))
    }

    struct LoadResult {
        let count: Int
        let seconds: Double
        let latencies: [Double]
        /// CPU seconds the server used during the run.
        let serverCPU: Double
        /// Context switches of the server's threads during the run.
        let contextSwitches: Int
        /// CPU seconds the server used after the run, finishing work the
        /// run left (the feed generator's backlog).
        let deferredCPU: Double
        /// CPU seconds this process (the load generator) used during the run.
        let clientCPU: Double
    }

    /// Runs one request loop per connection for ``seconds``, timing each call.
    func drive(
        _ connections: [BenchHTTPConnection], server: BenchServer, request: @escaping @Sendable (_ client: Int, _ n: Int) -> ByteBuffer,
        check: @escaping @Sendable (Int, ByteBuffer) -> String?
    ) async throws -> LoadResult {
        try await server.waitUntilIdle()
        let clock = ContinuousClock()
        let start = clock.now
        let cpuBefore = server.cpuSeconds()
        let clientCPUBefore = Bench.processCPUSeconds()
        let switchesBefore = server.contextSwitches()
        let latencies = try await withThrowingTaskGroup(of: [Double].self) { group in
            for (client, connection) in connections.enumerated() {
                group.addTask {
                    try await connection.drive(seconds: seconds, next: { request(client, $0) }, check: check)
                }
            }
            var all: [Double] = []
            for try await part in group { all += part }
            return all
        }
        let elapsed = clock.now - start
        let cpuAtEnd = server.cpuSeconds()
        let clientCPU = Bench.processCPUSeconds() - clientCPUBefore
        let switches = server.contextSwitches() - switchesBefore
        try await server.waitUntilIdle()
        return LoadResult(
            count: latencies.count,
            seconds: Bench.seconds(elapsed),
            latencies: latencies.sorted(), serverCPU: cpuAtEnd - cpuBefore, contextSwitches: switches,
            deferredCPU: server.cpuSeconds() - cpuAtEnd, clientCPU: clientCPU)
    }

    func report(_ name: String, _ result: LoadResult, throughputTarget: Double?, p99Target: Double?) {
        let rate = Double(result.count) / result.seconds
        func percentile(_ p: Double) -> Double {
            result.latencies.isEmpty ? 0 : result.latencies[min(result.latencies.count - 1, Int(Double(result.latencies.count) * p))]
        }
        Bench.report("\(name), \(clients) clients", rate, unit: "req/s", target: throughputTarget)
        Bench.report("  p50 latency", percentile(0.50), unit: "ms")
        Bench.report("  p99 latency", percentile(0.99), unit: "ms", target: p99Target, lowerIsBetter: true)
        Bench.report("  server CPU per request", result.serverCPU * 1e6 / Double(max(1, result.count)), unit: "µs")
        Bench.report("  server CPU use", result.serverCPU * 100 / result.seconds, unit: "%")
        if result.deferredCPU > 0.05 {
            Bench.report("  + server CPU after the run, per request", result.deferredCPU * 1e6 / Double(max(1, result.count)), unit: "µs")
        }
        Bench.report("  load generator CPU per request", result.clientCPU * 1e6 / Double(max(1, result.count)), unit: "µs")
        Bench.report("  server context switches per request", Double(result.contextSwitches) / Double(max(1, result.count)), unit: "")
    }

    func send(_ http: HTTPClient, _ url: String, body: DataValue? = nil, token: String? = nil) async throws -> DataValue {
        var request = HTTPClientRequest(url: url)
        if let body {
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: ATProtoJSON.encode(body)))
        }
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        let response = try await http.execute(request, timeout: .seconds(30))
        let bytes = try await response.body.collect(upTo: 16 * 1024 * 1024)
        return try ATProtoJSON.decode(bytes.readableBytesView, mode: .lenient)
    }
}
