import ATProto
import Foundation
import NIOCore
import Synchronization

/// The mixed load of `pds bench soak`, each part paced at a fixed rate so
/// that an hour of it is the same work at the end as at the start:
/// writers that create posts and delete their oldest (the repository stays
/// at a fixed size), readers of recent records, blob uploads (half put in a
/// post, half left for the garbage collector) and firehose consumers.
/// What each request took is kept per sampling interval.
final class SoakLoad: Sendable {
    struct Account: Sendable {
        let did: String
        let token: String
    }

    /// Counts and latencies since the last sample.
    struct Interval: Sendable {
        var writes = 0
        var reads = 0
        var blobs = 0
        var errors = 0
        var writeLatencies: [Double] = []
        var readLatencies: [Double] = []
        var lastError: String?
    }

    let port: Int
    let accounts: [Account]
    /// Records each writer keeps before it deletes its oldest.
    let window: Int
    private let interval = Mutex(Interval())
    /// Recently written records (`did/rkey`), for the readers.
    private let recent = Mutex<[String]>([])
    let stopping = Atomic<Bool>(false)

    init(port: Int, accounts: [Account], window: Int) {
        self.port = port
        self.accounts = accounts
        self.window = window
    }

    /// Takes the figures gathered since the last call.
    func takeInterval() -> Interval {
        interval.withLock { current in
            defer { current = Interval() }
            return current
        }
    }

    // MARK: - The parts

    /// One writer at `rate` requests a second: creates a post in its
    /// account, and once it holds `window` of them deletes the oldest
    /// (every other tick), so records and blocks level off.
    func writer(_ index: Int, rate: Double) async {
        let account = accounts[index % accounts.count]
        var mine: [String] = []
        var n = 0
        await paced(rate: rate) { connection in
            n += 1
            if mine.count >= self.window, n % 2 == 0 {
                let rkey = mine.removeFirst()
                let body: DataValue = ["repo": .string(account.did), "collection": "app.bsky.feed.post", "rkey": .string(rkey)]
                let request = connection.request(
                    "POST", "/xrpc/com.atproto.repo.deleteRecord", json: ATProtoJSON.encode(body), token: account.token)
                try await self.call(connection, request, kind: .write) { status, _ in status == 200 }
                return
            }
            let body: DataValue = [
                "repo": .string(account.did), "collection": "app.bsky.feed.post",
                "record": Bench.samplePost(index * 10_000_000 + n, withImage: false),
            ]
            let request = connection.request(
                "POST", "/xrpc/com.atproto.repo.createRecord", json: ATProtoJSON.encode(body), token: account.token)
            let reply = try await self.call(connection, request, kind: .write) { status, body in status == 200 && body.contains("\"uri\"") }
            if let rkey = Self.recordKey(of: reply) {
                mine.append(rkey)
                self.remember("\(account.did)/\(rkey)")
            }
        }
    }

    /// One reader at `rate` requests a second: getRecord of a recent
    /// record, and every tenth request listRecords of 50.
    func reader(_ index: Int, rate: Double) async {
        var n = 0
        await paced(rate: rate) { connection in
            n += 1
            let account = self.accounts[(index + n) % self.accounts.count]
            if n % 10 == 0 {
                let request = connection.request(
                    "GET", "/xrpc/com.atproto.repo.listRecords?repo=\(account.did)&collection=app.bsky.feed.post&limit=50")
                try await self.call(connection, request, kind: .read) { status, body in status == 200 && body.contains("\"records\"") }
                return
            }
            guard let key = self.recent.withLock({ $0.isEmpty ? nil : $0[(index * 31 + n) % $0.count] }) else { return }
            let parts = key.split(separator: "/")
            let request = connection.request(
                "GET", "/xrpc/com.atproto.repo.getRecord?repo=\(parts[0])&collection=app.bsky.feed.post&rkey=\(parts[1])")
            // A record may have been deleted since it was remembered.
            try await self.call(connection, request, kind: .read) { status, _ in status == 200 || status == 400 }
        }
    }

    /// Uploads a blob of 16 to 256 KiB `rate` times a second. Every other
    /// one goes into a post, and the oldest of those posts is deleted once
    /// there are 100 (its blob is then freed); the rest are never
    /// referenced. Both kinds are the garbage collector's to remove, so the
    /// blob store levels off too.
    func uploader(rate: Double) async {
        var n = 0
        var posts: [(account: Account, rkey: String)] = []
        await paced(rate: rate) { connection in
            n += 1
            let account = self.accounts[n % self.accounts.count]
            // A PNG signature, so the server sniffs an image a post may embed.
            var bytes: [UInt8] = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]
            bytes += [UInt8](repeating: 0, count: Int.random(in: 16...256) * 1024)
            for i in stride(from: 8, to: bytes.count, by: 64) { bytes[i] = UInt8.random(in: 0...255) }
            let request = connection.request(
                "POST", "/xrpc/com.atproto.repo.uploadBlob", body: bytes, contentType: "image/png", token: account.token)
            let reply = try await self.call(connection, request, kind: .blob) { status, body in status == 200 && body.contains("\"blob\"") }
            guard n % 2 == 0, let blob = try? ATProtoJSON.decode(reply.readableBytesView)["blob"] else { return }
            let record: DataValue = [
                "$type": "app.bsky.feed.post", "text": .string("soak blob \(n)"), "createdAt": "2026-12-06T12:00:00.000Z",
                "embed": ["$type": "app.bsky.embed.images", "images": [["alt": "", "image": blob]]],
            ]
            let body: DataValue = ["repo": .string(account.did), "collection": "app.bsky.feed.post", "record": record]
            let post = connection.request(
                "POST", "/xrpc/com.atproto.repo.createRecord", json: ATProtoJSON.encode(body), token: account.token)
            let created = try await self.call(connection, post, kind: .write) { status, _ in status == 200 }
            if let rkey = Self.recordKey(of: created) {
                posts.append((account, rkey))
            }
            guard posts.count > 100 else { return }
            let oldest = posts.removeFirst()
            let delete: DataValue = ["repo": .string(oldest.account.did), "collection": "app.bsky.feed.post", "rkey": .string(oldest.rkey)]
            let request2 = connection.request(
                "POST", "/xrpc/com.atproto.repo.deleteRecord", json: ATProtoJSON.encode(delete), token: oldest.account.token)
            try await self.call(connection, request2, kind: .write) { status, _ in status == 200 }
        }
    }

    // MARK: - Requests

    enum Kind { case write, read, blob }

    /// Sends one request and records its latency, or an error when the
    /// answer is wrong or takes over 30 s (the connection is then replaced).
    @discardableResult
    func call(
        _ connection: BenchHTTPConnection, _ request: ByteBuffer, kind: Kind, ok: (Int, ByteBuffer) -> Bool
    ) async throws -> ByteBuffer {
        let start = ContinuousClock.now
        let (status, body) = try await withThrowingTaskGroup(of: (status: Int, body: ByteBuffer).self) { group in
            group.addTask { try await connection.send(request) }
            group.addTask {
                try await Task.sleep(for: .seconds(30))
                throw BenchHTTPConnection.Failure(description: "no answer within 30 s")
            }
            defer { group.cancelAll() }
            return try await group.next()!
        }
        let milliseconds = Bench.seconds(ContinuousClock.now - start) * 1000
        guard ok(status, body) else {
            throw BenchHTTPConnection.Failure(description: "\(status) \(String(buffer: body).prefix(200))")
        }
        interval.withLock {
            switch kind {
            case .write:
                $0.writes += 1
                $0.writeLatencies.append(milliseconds)
            case .read:
                $0.reads += 1
                $0.readLatencies.append(milliseconds)
            case .blob:
                $0.blobs += 1
                $0.writeLatencies.append(milliseconds)
            }
        }
        return body
    }

    /// The record key of the `uri` in a createRecord answer.
    static func recordKey(of reply: ByteBuffer) -> String? {
        guard let uri = try? ATProtoJSON.decode(reply.readableBytesView, mode: .lenient)["uri"]?.stringValue else { return nil }
        return uri.split(separator: "/").last.map(String.init)
    }

    private func remember(_ key: String) {
        recent.withLock {
            $0.append(key)
            if $0.count > 2000 { $0.removeFirst(1000) }
        }
    }

    /// Runs `step` `rate` times a second on one keep-alive connection until
    /// stopped. A late step does not build a debt of more than a second,
    /// and a failed one is counted, its connection replaced.
    private func paced(rate: Double, _ step: (BenchHTTPConnection) async throws -> Void) async {
        let period = Duration.seconds(1 / rate)
        var next = ContinuousClock.now
        var connection: BenchHTTPConnection?
        while !stopping.load(ordering: .relaxed) {
            next += period
            let now = ContinuousClock.now
            if next > now {
                try? await Task.sleep(until: next)
            } else if now - next > .seconds(1) {
                next = now
            }
            do {
                if connection == nil { connection = try await BenchHTTPConnection.connect(host: "127.0.0.1", port: port) }
                try await step(connection!)
            } catch {
                interval.withLock {
                    $0.errors += 1
                    $0.lastError = "\(error)"
                }
                connection?.close()
                connection = nil
            }
        }
        connection?.close()
    }
}
