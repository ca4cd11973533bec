import ATCrypto
import ATProto
import Foundation
import Hummingbird
import Identity
import Synchronization
import TestSupport
import Testing

@Suite("Identity")
struct IdentityTests {
    @Test func addressClassification() throws {
        let nonPublic = [
            "127.0.0.1", "10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.1.1", "169.254.169.254", "0.0.0.0",
            "100.64.0.1", "224.0.0.1", "255.255.255.255", "::1", "::", "fe80::1", "fc00::1", "fd12:3456::1",
            "::ffff:127.0.0.1", "::ffff:10.0.0.1", "64:ff9b::a9fe:a9fe", "2001:db8::1",
        ]
        for text in nonPublic {
            let address = try #require(IPAddress(text), "\(text)")
            #expect(!address.isPublic, "\(text) should not be public")
        }
        for text in ["8.8.8.8", "93.184.216.34", "172.32.0.1", "100.128.0.1", "2606:4700::1111", "::ffff:8.8.8.8"] {
            let address = try #require(IPAddress(text), "\(text)")
            #expect(address.isPublic, "\(text) should be public")
        }
        #expect(IPAddress("example.com") == nil)
        #expect(IPAddress("::ffff:10.0.0.1")?.description == "::ffff:10.0.0.1")
    }

    @Test func policyRefusesPrivateTargetsUnlessAllowed() async throws {
        let strict = OutboundPolicy()
        for url in ["http://127.0.0.1:8080/x", "https://10.0.0.5/", "http://169.254.169.254/latest/meta-data", "http://[::1]:80/",
                    "http://localhost:9/"] {
            await #expect(throws: IdentityError.self, "\(url)") { try await strict.check(url: URL(string: url)!) }
        }
        do {
            try await strict.check(url: URL(string: "http://169.254.169.254/")!)
            Issue.record("allowed")
        } catch {
            #expect(error == .forbiddenAddress(host: "169.254.169.254", address: "169.254.169.254"))
        }
        try await OutboundPolicy(allowPrivate: true).check(url: URL(string: "http://127.0.0.1:8080/")!)
        try await OutboundPolicy(allowedHostPorts: ["127.0.0.1:8080"]).check(url: URL(string: "http://127.0.0.1:8080/")!)
        await #expect(throws: IdentityError.self) {
            try await OutboundPolicy(allowedHostPorts: ["127.0.0.1:8080"]).check(url: URL(string: "http://127.0.0.1:8081/")!)
        }
        await #expect(throws: IdentityError.self) { try await strict.check(url: URL(string: "file:///etc/passwd")!) }
    }

    static func document(did: String, key: PublicKey, handle: String, pds: String) -> DataValue {
        [
            "@context": ["https://www.w3.org/ns/did/v1"],
            "id": .string(did),
            "alsoKnownAs": [.string("at://\(handle)")],
            "verificationMethod": [
                ["id": .string(did + "#atproto"), "type": "Multikey", "controller": .string(did),
                 "publicKeyMultibase": .string(key.multikey)],
            ],
            "service": [
                ["id": "#atproto_pds", "type": "AtprotoPersonalDataServer", "serviceEndpoint": .string(pds)],
                ["id": .string(did + "#bsky_fg"), "type": "BskyFeedGenerator", "serviceEndpoint": "https://feeds.example.com"],
            ],
        ]
    }

    @Test func documentParsing() throws {
        let key = PrivateKey.generate(.secp256k1).publicKey
        let did = "did:plc:abcdefghijklmnopqrstuvwx"
        let parsed = try ResolvedDIDDocument(did: try DID(did), document: Self.document(did: did, key: key, handle: "Alice.Example.com", pds: "https://pds.example.com"))
        #expect(parsed.handle == "alice.example.com")
        #expect(parsed.signingKey == key)
        #expect(parsed.pdsEndpoint == "https://pds.example.com")
        #expect(parsed.serviceEndpoint("#bsky_fg") == "https://feeds.example.com")
        #expect(throws: IdentityError.self) {
            try ResolvedDIDDocument(did: try DID("did:plc:zzzzzzzzzzzzzzzzzzzzzzzz"), document: Self.document(did: did, key: key, handle: "a.b", pds: "x"))
        }
    }

    @Test func didWebURLs() throws {
        #expect(try DIDResolver.didWebDocumentURL(try DID("did:web:example.com")) == "https://example.com/.well-known/did.json")
        #expect(try DIDResolver.didWebDocumentURL(try DID("did:web:localhost%3A2583")) == "http://localhost:2583/.well-known/did.json")
        #expect(try DIDResolver.didWebDocumentURL(try DID("did:web:127.0.0.1%3A80")) == "http://127.0.0.1:80/.well-known/did.json")
        #expect(throws: IdentityError.self) { try DIDResolver.didWebDocumentURL(try DID("did:web:example.com:user:alice")) }
        // A host with a slash is not even a DID, so no document URL can be asked for.
        #expect(throws: SyntaxError.self) { try DID("did:web:exa/mple.com") }
    }

    /// A did:web host double that counts fetches.
    final class DocumentHost: Sendable {
        let port: Int
        let counter = Counter()
        let task: Task<Void, any Error>
        var fetches: Int { counter.value.withLock { $0 } }

        init(body: @escaping @Sendable (Int) -> DataValue) async throws {
            let port = try freePort()
            self.port = port
            let router = Router()
            let counter = self.counter
            router.get("/.well-known/did.json") { _, _ -> Response in
                counter.value.withLock { $0 += 1 }
                return Response(status: .ok, headers: [.contentType: "application/json"],
                                body: .init(byteBuffer: ByteBuffer(bytes: ATProtoJSON.encode(body(port)))))
            }
            router.get("/.well-known/atproto-did") { _, _ -> Response in
                Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: "did:web:127.0.0.1%3A\(port)\n")))
            }
            let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)))
            task = Task.detached { try await app.run() }
            try await waitUntilListening(port)
        }

        func stop() { task.cancel() }
    }

    @Test func aCheckedNameIsConnectedToAtTheAddressTheCheckSaw() async throws {
        let key = PrivateKey.generate(.p256).publicKey
        let host = try await DocumentHost { port in
            IdentityTests.document(did: "did:web:pinned.example", key: key, handle: "alice.example.com", pds: "https://pds.example.com")
        }
        defer { host.stop() }
        // The policy's resolver says where `pinned.example` is (the system's
        // DNS does not know the name): the request must go to that address.
        let loopback = try #require(IPAddress("127.0.0.1"))
        let pinned = OutboundPolicy(allowedAddresses: [loopback]) { name throws(IdentityError) in
            guard name == "pinned.example" else { throw .dns("unknown \(name)") }
            return [loopback]
        }
        let reply = try await GuardedHTTPClient(policy: pinned).get("http://pinned.example:\(host.port)/.well-known/did.json")
        #expect(reply.status == 200 && host.fetches == 1)
        // A name whose addresses include a private one is refused before any connection.
        let mixed = [try #require(IPAddress("93.184.216.34")), try #require(IPAddress("10.0.0.7"))]
        let rebinding = OutboundPolicy { _ throws(IdentityError) in mixed }
        await #expect(throws: IdentityError.self) {
            _ = try await GuardedHTTPClient(policy: rebinding).get("http://pinned.example:\(host.port)/.well-known/did.json")
        }
        #expect(host.fetches == 1)
    }

    @Test func didWebResolutionCacheAndSSRF() async throws {
        let key = PrivateKey.generate(.p256).publicKey
        let host = try await DocumentHost { port in
            IdentityTests.document(did: "did:web:127.0.0.1%3A\(port)", key: key, handle: "alice.example.com", pds: "https://pds.example.com")
        }
        defer { host.stop() }
        let did = "did:web:127.0.0.1%3A\(host.port)"
        // Without permission, the loopback host is refused before any connection.
        let strict = DIDResolver(configuration: .init(plcDirectoryURL: nil))
        await #expect(throws: IdentityError.forbiddenAddress(host: "127.0.0.1", address: "127.0.0.1")) { try await strict.resolve(try DID(did)) }
        for target in ["did:web:10.0.0.1", "did:web:169.254.169.254", "did:web:192.168.0.1%3A8080"] {
            await #expect(throws: IdentityError.self, "\(target)") { try await strict.resolve(try DID(target)) }
        }
        #expect(host.fetches == 0)

        let resolver = DIDResolver(configuration: .init(plcDirectoryURL: nil, policy: OutboundPolicy(allowedHostPorts: ["127.0.0.1:\(host.port)"])))
        #expect(try await resolver.signingKey(for: try DID(did)) == key)
        _ = try await resolver.resolve(try DID(did))
        #expect(host.fetches == 1, "the second resolution comes from the cache")
        _ = try await resolver.resolve(try DID(did), forceRefresh: true)
        #expect(host.fetches == 2)
        await #expect(throws: IdentityError.self) { try await resolver.resolve(try DID("did:plc:abcdefghijklmnopqrstuvwx")) }
        await #expect(throws: IdentityError.unsupportedDID("did:key:zQ3sh")) { try await resolver.resolve(try DID("did:key:zQ3sh")) }
    }

    /// The key a document host currently serves.
    final class CurrentKey: Sendable {
        let key: Mutex<PublicKey>
        init(_ key: PublicKey) { self.key = Mutex(key) }
    }

    @Test func serviceTokensVerifyAgainstTheIssuersDocumentAcrossAKeyRotation() async throws {
        let first = PrivateKey.generate(.secp256k1)
        let current = CurrentKey(first.publicKey)
        let host = try await DocumentHost { port in
            IdentityTests.document(did: "did:web:127.0.0.1%3A\(port)", key: current.key.withLock { $0 }, handle: "a.example.com", pds: "https://pds.example.com")
        }
        defer { host.stop() }
        let iss = "did:web:127.0.0.1%3A\(host.port)"
        let resolver = DIDResolver(configuration: .init(plcDirectoryURL: nil, policy: OutboundPolicy(allowPrivate: true)))
        let verifier = ServiceJWTVerifier(resolver: resolver)
        func token(_ key: PrivateKey, aud: String = "did:web:feeds.example.com", lxm: String = "app.bsky.feed.getFeedSkeleton",
                   exp: Int = Int(Date().timeIntervalSince1970) + 60) throws -> String {
            try JWT.sign(claims: JWTClaims(iss: iss, aud: aud, exp: exp, iat: Int(Date().timeIntervalSince1970), lxm: lxm, jti: "x"),
                         typ: "JWT", key: key)
        }
        let ok = try await verifier.verify(try token(first), audience: "did:web:feeds.example.com", lxm: "app.bsky.feed.getFeedSkeleton")
        #expect(ok.issuer.string == iss)
        await #expect(throws: ServiceJWTVerifier.Failure.self) {
            try await verifier.verify(try token(first, aud: "did:web:other.example.com"), audience: "did:web:feeds.example.com", lxm: nil)
        }
        await #expect(throws: ServiceJWTVerifier.Failure.wrongMethod(expected: "app.bsky.feed.getFeedSkeleton", found: "app.bsky.feed.getTimeline")) {
            try await verifier.verify(try token(first, lxm: "app.bsky.feed.getTimeline"), audience: "did:web:feeds.example.com", lxm: "app.bsky.feed.getFeedSkeleton")
        }
        await #expect(throws: ServiceJWTVerifier.Failure.self) {
            try await verifier.verify(try token(first, exp: Int(Date().timeIntervalSince1970) - 600), audience: "did:web:feeds.example.com", lxm: nil)
        }
        // The issuer rotates its key: the cached document is refreshed once.
        let second = PrivateKey.generate(.secp256k1)
        current.key.withLock { $0 = second.publicKey }
        let fetches = host.fetches
        #expect(try await verifier.verify(try token(second), audience: "did:web:feeds.example.com", lxm: nil).issuer.string == iss)
        #expect(host.fetches == fetches + 1)
        // A token by a key the document never named fails after that refresh.
        await #expect(throws: ServiceJWTVerifier.Failure.badSignature) {
            try await verifier.verify(try token(PrivateKey.generate(.secp256k1)), audience: "did:web:feeds.example.com", lxm: nil)
        }
    }

    @Test func dnsTXTQueries() async throws {
        let long = String(repeating: "x", count: 300)
        let dns = try FakeDNSServer(records: [
            "_atproto.alice.example.com": ["did=did:plc:abcdefghijklmnopqrstuvwx"],
            "_atproto.two.example.com": ["did=did:plc:abcdefghijklmnopqrstuvwx", "did=did:plc:bbcdefghijklmnopqrstuvwx"],
            "long.example.com": [long],
        ])
        defer { dns.stop() }
        let client = DNSTXTResolver(server: "127.0.0.1", port: dns.port, timeout: .seconds(2))
        #expect(try await client.txt("_atproto.alice.example.com") == ["did=did:plc:abcdefghijklmnopqrstuvwx"])
        #expect(try await client.txt("long.example.com") == [long])
        #expect(try await client.txt("nothing.example.com") == [])
        dns.sendWrongIDFirst.withLock { $0 = true }
        #expect(try await client.txt("_atproto.alice.example.com").count == 1, "a reply with another id is ignored")
        dns.sendWrongIDFirst.withLock { $0 = false }
        dns.truncate.withLock { $0 = true }
        await #expect(throws: IdentityError.dns("the reply was truncated")) { try await client.txt("_atproto.alice.example.com") }
        dns.truncate.withLock { $0 = false }

        let handles = HandleResolver(configuration: .init(dns: client, policy: OutboundPolicy(), wellKnownURL: { _ in "http://10.0.0.1/.well-known/atproto-did" }))
        #expect(try await handles.resolve("Alice.Example.com").string == "did:plc:abcdefghijklmnopqrstuvwx")
        // Two DIDs is ambiguous: DNS fails, and the HTTPS fallback's private address is refused.
        await #expect(throws: IdentityError.forbiddenAddress(host: "10.0.0.1", address: "10.0.0.1")) { try await handles.resolve("two.example.com") }

        // A nameserver that does not answer times out.
        let silent = DNSTXTResolver(server: "127.0.0.1", port: 9, timeout: .milliseconds(300))
        await #expect(throws: IdentityError.self) { try await silent.txt("a.example.com") }
    }

    @Test func handleResolutionOverHTTPS() async throws {
        let host = try await DocumentHost { _ in [:] }
        defer { host.stop() }
        let url: @Sendable (String) -> String = { [port = host.port] _ in "http://127.0.0.1:\(port)/.well-known/atproto-did" }
        let allowed = HandleResolver(configuration: .init(dns: nil, policy: OutboundPolicy(allowPrivate: true), wellKnownURL: url))
        #expect(try await allowed.resolve("bob.example.com").string == "did:web:127.0.0.1%3A\(host.port)")
        let strict = HandleResolver(configuration: .init(dns: nil, policy: OutboundPolicy(), wellKnownURL: url))
        await #expect(throws: IdentityError.forbiddenAddress(host: "127.0.0.1", address: "127.0.0.1")) { try await strict.resolve("bob.example.com") }
        await #expect(throws: IdentityError.handleNotFound("not a handle")) { try await allowed.resolve("not a handle") }
    }
}

/// A shared count.
final class Counter: Sendable {
    let value = Mutex(0)
}
