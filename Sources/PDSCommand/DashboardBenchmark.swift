import ATProto
import ArgumentParser
import AsyncHTTPClient
import Atrarium
import FeedGen
import Foundation
import Logging
import NIOCore
import PDS

/// `pds bench dashboard`: how long the dashboard's pages take to render on
/// the server with a large index (1,000 communities, 10,000 members,
/// 100,000 posts by default), each page requested one at a time over
/// loopback by a signed-in owner.
struct DashboardBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dashboard", abstract: "Render time of every dashboard page with 1,000 communities, 10,000 members, 100,000 posts.")

    @Option(help: "Communities in the index.") var communities: Int = 1_000
    @Option(help: "Members over all communities (the first community has a tenth of them).") var members: Int = 10_000
    @Option(help: "Indexed posts, over the last 7 days (the first community has a tenth of them).") var posts: Int = 100_000
    @Option(help: "Requests per page.") var requests: Int = 200

    func run() async throws {
        Bench.header("dashboard")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pds-bench-dashboard-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var config = PDSConfig()
        config.dataDirectory = directory
        config.port = try BenchServer.freePort()
        config.publicURL = "http://127.0.0.1:\(config.port)"
        config.plcDirectoryURL = ""
        config.rateLimits.requestsPerFiveMinutes = .max / 2
        var logger = Logger(label: "bench")
        logger.logLevel = .error
        let services = try PDSServices(config: config, logger: logger)
        var dashboard = DashboardConfig()
        dashboard.requestsPerHour = .max / 2
        dashboard.feedRequestsPerHour = .max / 2
        let (plugin, generator) = try AtrariumExtension.make(services: services, config: FeedGenConfig(), dashboard: dashboard)
        let app = PDSServer.application(services: services, extensions: [plugin])
        let server = Task { try await app.run() }
        defer { server.cancel() }

        // Setup (not timed): the owner's account, the index, a signed-in browser.
        let owner = try await AccountAdmin.createAccount(
            handle: "owner" + (services.config.availableUserDomains.first ?? ".test"), email: nil, password: "bench-owner-password", inviteCode: nil, inviteRequired: false,
            services: services)
        let ids = (0..<communities).map { String(format: "%08x", 0xda00_0000 + $0) }
        let now = Date()
        let created = ATDatetime.format(now.addingTimeInterval(-8 * 86_400))
        let seeds = ids.map { id in
            CommunitySeed(
                id: id, configURI: "at://\(owner.did)/net.atrarium.community.config/\(id)", configCID: Self.cid(id), owner: owner.did.string,
                name: "Community \(id)", stage: "theme", accessType: "open", createdAt: created)
        }
        let big = members / 10, bigPosts = posts / 10
        let nowMS = Int64(now.timeIntervalSince1970 * 1000)
        try await generator.index.bulkInsert(communities: seeds, indexedAt: nowMS, postCount: posts) { n in
            let community = n < bigPosts ? ids[0] : ids[1 + n % (ids.count - 1)]
            let author = String(format: "did:plc:member%018d", n % max(members, 1))
            return PostSeed(
                community: community, uri: "at://\(author)/app.bsky.feed.post/bench\(n)", cid: Self.cid("p\(n)"), author: author,
                createdAt: nowMS - Int64(n % (7 * 86_400)) * 1000)
        }
        var memberSeeds = ids.map { MemberSeed(community: $0, configURI: "at://\(owner.did)/net.atrarium.community.config/\($0)", did: owner.did.string, role: "owner", joinedAt: created) }
        for n in 0..<members {
            let community = n < big ? 0 : 1 + n % (ids.count - 1)
            memberSeeds.append(
                MemberSeed(
                    community: ids[community], configURI: seeds[community].configURI, did: String(format: "did:plc:member%018d", n), role: "member",
                    joinedAt: ATDatetime.format(now.addingTimeInterval(-Double(n % 7) * 86_400))))
        }
        try await generator.index.bulkInsertMembers(memberSeeds)
        let cookie = String(repeating: "b", count: 43)
        let nowSeconds = Int(now.timeIntervalSince1970)
        try await services.oauthClients.save(
            OAuthClientStore.Session(
                idHash: OAuthClientAgent.hash(cookie), did: owner.did,
                server: .init(issuer: config.publicURL!, tokenEndpoint: config.publicURL! + "/oauth/token", revocationEndpoint: nil),
                pdsURL: config.publicURL!, scope: "atproto", accessToken: "unused", accessExpiresAt: nowSeconds + 3600, refreshToken: nil,
                dpopKey: DPoPClientKey().rawRepresentation, authNonce: nil, pdsNonce: nil, csrf: "bench", createdAt: nowSeconds,
                expiresAt: nowSeconds + 3600))
        Bench.say("index: \(communities) communities, \(members) members (\(big) in the first), \(posts) posts (\(bigPosts) in the first)")

        let http = HTTPClient.shared
        let base = "http://127.0.0.1:\(config.port)"
        try await Self.waitForServer(http, base)
        let pages = [
            ("home (my communities + overview)", "/dashboard"), ("community (charts + feed)", "/dashboard/c/\(ids[0])"),
            ("members (first community)", "/dashboard/c/\(ids[0])/members"), ("moderation", "/dashboard/c/\(ids[0])/moderation"),
            ("edit", "/dashboard/c/\(ids[0])/edit"), ("new community", "/dashboard/new"), ("sign-in (signed out)", "/dashboard/signin"),
        ]
        for (name, path) in pages {
            var times: [Double] = []
            for n in 0..<(requests + 10) {
                var request = HTTPClientRequest(url: base + path)
                if !path.hasSuffix("signin") { request.headers.add(name: "Cookie", value: "atrarium-session=\(cookie)") }
                let start = ContinuousClock.now
                let response = try await http.execute(request, timeout: .seconds(30))
                let body = try await response.body.collect(upTo: 16 << 20)
                let elapsed = ContinuousClock.now - start
                guard response.status == .ok, body.readableBytes > 0 else {
                    throw ValidationError("\(path) answered \(response.status): \(String(buffer: body).prefix(300))")
                }
                if n >= 10 { times.append(Bench.seconds(elapsed) * 1000) }  // the first ten warm the caches
            }
            times.sort()
            let p50 = times[times.count / 2], p95 = times[min(times.count - 1, times.count * 95 / 100)]
            Bench.report("  \(name) p95", p95, unit: "ms", target: 50, lowerIsBetter: true)
            Bench.say("      p50 \(Bench.format(p50)) ms, max \(Bench.format(times.last ?? 0)) ms")
        }
    }

    static func waitForServer(_ http: HTTPClient, _ base: String) async throws {
        for _ in 0..<100 {
            if let response = try? await http.execute(HTTPClientRequest(url: base + "/xrpc/_health"), timeout: .seconds(2)),
                response.status == .ok
            {
                return
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw ValidationError("the server did not start")
    }

    static func cid(_ seed: String) -> String { CID.compute(Array(seed.utf8)).string }
}
