import ATCrypto
import ATProto
import Foundation
import TestSupport
import HTTPTypes
import Hummingbird
import Synchronization

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// An AppView double on a loopback port. It serves its own did:web document
/// (`#bsky_appview`), answers `com.atproto.repo.getRecord` for feed
/// generator records without auth, and for every other XRPC call verifies
/// the service JWT it receives: it resolves the issuer's DID document at the
/// PLC directory over HTTP, checks the signature with its `#atproto` key,
/// and records the claims, the query and the forwarded headers.
public final class FakeAppView: Sendable {
    /// A method this double answers only after six seconds.
    public static let slowMethod = "app.bsky.unspecced.getSlowAnswerForTests"
    /// One request as received.
    public struct Received: Sendable {
        public let method: String
        public let nsid: String
        public let query: String
        public let claims: JWTClaims?
        /// Why the token did not verify (nil when it did).
        public let failure: String?
        public let headers: [String: String]
        public let body: [UInt8]
    }

    public let port: Int
    let task: Task<Void, any Error>
    public var did: String { "did:web:127.0.0.1%3A\(port)" }
    public var url: String { "http://127.0.0.1:\(port)" }

    /// - Parameters:
    ///   - plcURL: where issuers' DID documents are resolved.
    ///   - feedGenerators: generator records' `did`, by `<repo>/<rkey>`.
    public init(plcURL: String, feedGenerators: [String: String] = [:]) async throws {
        let port = try freePort()
        self.port = port
        let router = Router()
        let log = Log()
        let answers = Answers()
        self.answers = answers
        router.get("/.well-known/did.json") { _, _ -> Response in
            let did = "did:web:127.0.0.1%3A\(port)"
            return FakeAppView.json([
                "@context": ["https://www.w3.org/ns/did/v1"], "id": .string(did),
                "service": [["id": "#bsky_appview", "type": "BskyAppView", "serviceEndpoint": .string("http://127.0.0.1:\(port)")]],
            ])
        }
        router.get("/xrpc/com.atproto.repo.getRecord") { request, _ -> Response in
            let repo = request.uri.queryParameters["repo"].map(String.init) ?? ""
            let rkey = request.uri.queryParameters["rkey"].map(String.init) ?? ""
            guard let feedDID = feedGenerators["\(repo)/\(rkey)"] else {
                return FakeAppView.json(["error": "RecordNotFound", "message": "no such record"], status: .badRequest)
            }
            return FakeAppView.json([
                "uri": .string("at://\(repo)/app.bsky.feed.generator/\(rkey)"),
                "value": ["$type": "app.bsky.feed.generator", "did": .string(feedDID), "displayName": "Feed", "createdAt": "2024-01-01T00:00:00Z"],
            ])
        }
        let handler: @Sendable (Request, BasicRequestContext) async throws -> Response = { request, context in
            let nsid = context.parameters.get("nsid") ?? ""
            var headers: [String: String] = [:]
            for field in request.headers { headers[field.name.canonicalName] = field.value }
            let body = Array(buffer: try await request.body.collect(upTo: 1 << 20))
            var claims: JWTClaims? = nil
            var failure: String? = nil
            do {
                let auth = headers["authorization"] ?? ""
                guard auth.hasPrefix("Bearer ") else { throw TestError("no bearer token") }
                let token = String(auth.dropFirst(7))
                let unverified = try JWT.decodeUnverified(token)
                guard let iss = unverified.claims.iss else { throw TestError("no iss") }
                let key = try await FakeAppView.signingKey(of: iss, plcURL: plcURL)
                claims = try JWT.verify(token, key: key, expectedAudience: nil)
            } catch {
                failure = "\(error)"
            }
            log.entries.withLock {
                $0.append(Received(method: request.method.rawValue, nsid: nsid, query: request.uri.query ?? "", claims: claims,
                                   failure: failure, headers: headers, body: body))
            }
            if nsid == FakeAppView.slowMethod {
                try await Task.sleep(for: .seconds(6))
            }
            if failure == nil, let canned = answers.entries.withLock({ $0[nsid] }) {
                var response = FakeAppView.json(canned.body, status: canned.status)
                if let rev = canned.rev { response.headers[HTTPField.Name("atproto-repo-rev")!] = rev }
                return response
            }
            if nsid == "app.bsky.feed.getPostThread" {
                return FakeAppView.json(["error": "NotFound", "message": "Post not found"], status: .badRequest)
            }
            guard failure == nil else {
                return FakeAppView.json(["error": "AuthenticationRequired", "message": .string(failure ?? "")], status: .unauthorized)
            }
            if nsid == "app.bsky.actor.getProfile" {
                return FakeAppView.json(["did": .string(claims?.iss ?? ""), "handle": "handle.invalid"])
            }
            var response = FakeAppView.json(["feed": [], "servedBy": "fake-appview", "lxm": .string(claims?.lxm ?? "")])
            response.headers[HTTPField.Name("atproto-content-labelers")!] = "did:plc:labeler"
            return response
        }
        router.get("/xrpc/:nsid", use: handler)
        router.post("/xrpc/:nsid", use: handler)
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)))
        task = Task.detached { try await app.run() }
        self.log = log
        try await waitUntilListening(port)
    }

    /// The shared request log.
    final class Log: Sendable {
        let entries = Mutex<[Received]>([])
    }

    /// An answer set by the test, with the `atproto-repo-rev` it claims.
    struct Canned: Sendable {
        let body: DataValue
        let rev: String?
        let status: HTTPResponse.Status
    }

    /// Answers by method, set by ``answer(_:with:rev:status:)``.
    final class Answers: Sendable {
        let entries = Mutex<[String: Canned]>([:])
    }

    private let answers: Answers

    /// Makes the double answer `nsid` with `body` (a verified token still
    /// needed), claiming to have seen the repositories up to `rev`.
    public func answer(_ nsid: String, with body: DataValue, rev: String?, status: HTTPResponse.Status = .ok) {
        answers.entries.withLock { $0[nsid] = Canned(body: body, rev: rev, status: status) }
    }

    private let log: Log

    /// Requests received so far.
    public var requests: [Received] { log.entries.withLock { $0 } }

    public func stop() { task.cancel() }

    static func json(_ value: DataValue, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: ATProtoJSON.encode(value))))
    }

    /// The `#atproto` key of a did:plc document fetched from the directory.
    static func signingKey(of did: String, plcURL: String) async throws -> PublicKey {
        let (data, _) = try await URLSession.shared.data(from: URL(string: "\(plcURL)/\(did)")!)
        let document = try ATProtoJSON.decode(Array(data), mode: .lenient)
        guard document["id"]?.stringValue == did else { throw TestError("the document is not \(did)'s") }
        for method in document["verificationMethod"]?.arrayValue ?? [] where method["id"]?.stringValue == did + "#atproto" {
            if let multibase = method["publicKeyMultibase"]?.stringValue { return try PublicKey(multikey: multibase) }
        }
        throw TestError("no #atproto key for \(did)")
    }
}
