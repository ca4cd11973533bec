import ATProto
import Foundation
import Hummingbird
#if canImport(Glibc)
    import Glibc
#endif
import Logging
import PDS
import TestSupport

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// A real server on a loopback port with its own temporary data directory,
/// and a small HTTP client to drive it.
public final class TestServer: XRPCTestClient, @unchecked Sendable {
    public let services: PDSServices
    public let port: Int
    public let dataDirectory: URL
    private let task: Task<Void, any Error>

    public var baseURL: String { "http://127.0.0.1:\(port)" }

    /// Starts a server; `configure` adjusts the test configuration and
    /// `extensions` plugs extra parts (such as the feed generator) in.
    public static func start(
        _ configure: (inout PDSConfig) -> Void = { _ in },
        extensions: (PDSServices) throws -> [PDSExtension] = { _ in [] }
    ) async throws -> TestServer {
        // A write to a socket a peer closed must be an error, not the end of the test process.
        signal(SIGPIPE, SIG_IGN)
        // The port is chosen before the server binds it, so something else
        // (a client's ephemeral port, another test process) may take it
        // meanwhile: then start again on another one.
        for _ in 0..<5 {
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pds-test-\(UUID().uuidString)")
            var config = PDSConfig()
            // A known port, so the DID documents name the URL clients really use.
            config.port = try freePort()
            config.publicURL = "http://127.0.0.1:\(config.port)"
            config.dataDirectory = dir.path
            config.adminPassword = "admin-secret"
            // No network in tests: tests that need a PLC directory start a fake one.
            config.plcDirectoryURL = ""
            configure(&config)
            var logger = Logger(label: "pds-test")
            logger.logLevel = .warning
            let services = try PDSServices(config: config, passwordStrength: .testing, logger: logger)
            let (ports, continuation) = AsyncStream<Int>.makeStream()
            let app = PDSServer.application(services: services, extensions: try extensions(services)) { port in
                continuation.yield(port)
                continuation.finish()
            }
            let task = Task {
                // A server that cannot start (its port was taken) ends the wait too.
                defer { continuation.finish() }
                try await app.run()
            }
            var port = 0
            for await p in ports { port = p }
            if port > 0 { return TestServer(services: services, port: port, dataDirectory: dir, task: task) }
            try? FileManager.default.removeItem(at: dir)
        }
        throw TestError("the test server could not start on any of five ports")
    }

    private init(services: PDSServices, port: Int, dataDirectory: URL, task: Task<Void, any Error>) {
        self.services = services
        self.port = port
        self.dataDirectory = dataDirectory
        self.task = task
    }

    /// Stops the server and removes its data (unless `keepData`, for a
    /// restart on the same directory).
    public func stop(keepData: Bool = false) async {
        task.cancel()
        _ = try? await task.value
        if !keepData { try? FileManager.default.removeItem(at: dataDirectory) }
    }

    // MARK: - HTTP

    /// What the server answered.
    public struct Reply: Sendable {
        public let status: Int
        public let headers: [String: String]
        public let body: [UInt8]

        /// The body as atproto JSON (nil when it is not JSON).
        public var json: DataValue? { try? ATProtoJSON.decode(body, mode: .lenient) }
        /// `error` of an XRPC error body.
        public var error: String? { json?["error"]?.stringValue }
        /// A field of a JSON object body.
        public subscript(key: String) -> DataValue? { json?[key] }
        public var text: String { String(decoding: body, as: UTF8.self) }
    }

    // MARK: - Accounts

    /// A logged-in test account.
    public struct Session: Sendable {
        public let did: String
        public let handle: String
        public let accessJwt: String
        public let refreshJwt: String

        public init(did: String, handle: String, accessJwt: String, refreshJwt: String) {
            self.did = did
            self.handle = handle
            self.accessJwt = accessJwt
            self.refreshJwt = refreshJwt
        }
    }
}

/// Anything the tests talk XRPC to over HTTP: an in-process ``TestServer``
/// or a `pds serve` process.
public protocol XRPCTestClient: Sendable {
    var baseURL: String { get }
}

extension XRPCTestClient {
    public typealias Reply = TestServer.Reply
    public typealias Session = TestServer.Session

    public func request(
        _ method: String, _ path: String, query: [(String, String)] = [], body: [UInt8]? = nil,
        contentType: String? = nil, headers: [String: String] = [:]
    ) async throws -> Reply {
        var components = URLComponents(string: baseURL + path)!
        if !query.isEmpty { components.queryItems = query.map { URLQueryItem(name: $0.0, value: $0.1) } }
        var request = URLRequest(url: components.url!)
        request.httpMethod = method
        // Cookies are the test's to send: the shared cookie store would add
        // (or put in place of a test's own) cookies other test servers set,
        // since cookies are kept per host and every test server is 127.0.0.1.
        request.httpShouldHandleCookies = false
        if let body { request.httpBody = Data(body) }
        if let contentType { request.setValue(contentType, forHTTPHeaderField: "Content-Type") }
        for (k, v) in headers { request.setValue(v, forHTTPHeaderField: k) }
        let (data, response) = try await URLSession.shared.data(for: request)
        let http = response as! HTTPURLResponse
        var fields: [String: String] = [:]
        for (k, v) in http.allHeaderFields { fields[String(describing: k).lowercased()] = String(describing: v) }
        return Reply(status: http.statusCode, headers: fields, body: [UInt8](data))
    }

    /// A GET of an XRPC query.
    public func query(_ nsid: String, _ params: [(String, String)] = [], token: String? = nil) async throws -> Reply {
        try await request("GET", "/xrpc/" + nsid, query: params, headers: token.map { ["Authorization": "Bearer \($0)"] } ?? [:])
    }

    /// A POST of an XRPC procedure with a JSON body.
    public func procedure(_ nsid: String, _ input: DataValue? = nil, token: String? = nil) async throws -> Reply {
        try await request(
            "POST", "/xrpc/" + nsid, body: input.map { ATProtoJSON.encode($0) },
            contentType: input == nil ? nil : "application/json",
            headers: token.map { ["Authorization": "Bearer \($0)"] } ?? [:])
    }

    public func createAccount(_ name: String, password: String = "password-\(UUID().uuidString.prefix(8))") async throws -> Session {
        let handle = "\(name).test"
        let reply = try await procedure(
            "com.atproto.server.createAccount",
            ["handle": .string(handle), "email": .string("\(name)@example.com"), "password": .string(password)])
        guard reply.status == 200, let did = reply["did"]?.stringValue, let access = reply["accessJwt"]?.stringValue,
            let refresh = reply["refreshJwt"]?.stringValue
        else { throw TestError("createAccount \(handle) failed: \(reply.status) \(reply.text)") }
        return Session(did: did, handle: handle, accessJwt: access, refreshJwt: refresh)
    }
}

/// A failure of test setup, with what happened.
public struct TestError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
