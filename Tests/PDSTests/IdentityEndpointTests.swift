import ATCrypto
import ATProto
import Foundation
import GRDB
import PDSTestSupport
import Sequencer
import TestSupport
import Testing

@testable import PDS

/// did:plc registration and updates against a fake PLC directory, handle
/// resolution and updates, and `/.well-known/atproto-did`.
@Suite("Identity endpoints")
struct IdentityEndpointTests {
    /// The `#identity` events of `did`, as (handle) values.
    static func identityHandles(_ server: TestServer, _ did: String) async throws -> [String?] {
        try await server.sequencedEvents().filter { $0.did.string == did && $0.type == "#identity" }.map {
            try DAGCBOR.decode($0.event)["handle"]?.stringValue
        }
    }

    @Test func accountCreationRegistersAValidPLCOperation() async throws {
        let plc = try await FakePLCDirectory()
        defer { plc.stop() }
        let server = try await TestServer.start { $0.plcDirectoryURL = plc.url }
        defer { Task { await server.stop() } }
        let alice = try await server.createAccount("alice")
        let operations = plc.operations(alice.did)
        #expect(operations.count == 1, "refusals: \(plc.state.refusals.withLock { $0 })")
        let account = try #require(try await server.services.accounts.account(did: try DID(alice.did)))
        #expect(operations.first?["verificationMethods"]?["atproto"]?.stringValue == account.signingKey.publicKey.didKey)
        #expect(operations.first?["services"]?["atproto_pds"]?["endpoint"]?.stringValue == server.baseURL)
        #expect(operations.first?["alsoKnownAs"] == ["at://alice.test"])
        #expect(try await server.count("SELECT COUNT(*) FROM plc_operation WHERE did = ? AND state = 'submitted'", [alice.did]) == 1)
        // The server resolves its own account through the directory.
        let resolved = try await server.services.identity.dids.resolve(try DID(alice.did))
        #expect(resolved.signingKey == account.signingKey.publicKey)
        #expect(resolved.handle == "alice.test")
    }

    @Test func aUserRecoveryKeyOutranksTheServersRotationKey() async throws {
        let plc = try await FakePLCDirectory()
        defer { plc.stop() }
        let server = try await TestServer.start { $0.plcDirectoryURL = plc.url }
        defer { Task { await server.stop() } }
        let recovery = PrivateKey.generate(.secp256k1).publicKey.didKey
        let reply = try await server.procedure(
            "com.atproto.server.createAccount",
            ["handle": "carol.test", "email": "carol@example.com", "password": "a-good-password", "recoveryKey": .string(recovery)])
        #expect(reply.status == 200, "\(reply.text)")
        let did = try #require(reply["did"]?.stringValue)
        let operations = plc.operations(did)
        #expect(operations.count == 1, "refusals: \(plc.state.refusals.withLock { $0 })")
        let serverKey = server.services.secrets.rotationKey.publicKey.didKey
        #expect(operations.first?["rotationKeys"]?.arrayValue?.compactMap(\.stringValue) == [recovery, serverKey])

        // The server's own key given as the recovery key is listed once.
        let same = try await server.procedure(
            "com.atproto.server.createAccount",
            ["handle": "erin.test", "email": "erin@example.com", "password": "a-good-password", "recoveryKey": .string(serverKey)])
        #expect(same.status == 200, "\(same.text)")
        let erin = try #require(same["did"]?.stringValue)
        #expect(plc.operations(erin).first?["rotationKeys"]?.arrayValue?.compactMap(\.stringValue) == [serverKey])

        // A key that is not a did:key, or of a curve PLC refuses, creates nothing.
        for bad in ["not-a-key", "did:key:zQ3shbad", PrivateKey.generate(.ed25519).publicKey.didKey] {
            let refused = try await server.procedure(
                "com.atproto.server.createAccount",
                ["handle": "dave.test", "email": "dave@example.com", "password": "a-good-password", "recoveryKey": .string(bad)])
            #expect(refused.status == 400 && refused.error == "InvalidRequest", "\(bad): \(refused.text)")
        }
        #expect(try await server.count("SELECT COUNT(*) FROM account WHERE handle = 'dave.test'", []) == 0)
    }

    @Test func handleUpdateEmitsAPLCOperationAndAnIdentityEvent() async throws {
        let plc = try await FakePLCDirectory()
        defer { plc.stop() }
        let server = try await TestServer.start { $0.plcDirectoryURL = plc.url }
        defer { Task { await server.stop() } }
        let alice = try await server.createAccount("alice")
        _ = try await server.createAccount("bobby")
        let reply = try await server.procedure("com.atproto.identity.updateHandle", ["handle": "Alice2.test"], token: alice.accessJwt)
        #expect(reply.status == 200, "\(reply.text)")
        let operations = plc.operations(alice.did)
        #expect(operations.count == 2, "refusals: \(plc.state.refusals.withLock { $0 })")
        #expect(operations.last?["alsoKnownAs"] == ["at://alice2.test"])
        #expect(operations.last?["prev"]?.stringValue == PLCOperation.cid(operations[0]).string)
        #expect(try await Self.identityHandles(server, alice.did).last == "alice2.test")
        let session = try await server.query("com.atproto.server.getSession", token: alice.accessJwt)
        #expect(session["handle"]?.stringValue == "alice2.test")

        // Bad inputs change nothing.
        let events = try await server.sequencedEvents().count
        for (handle, error) in [("bobby.test", "HandleNotAvailable"), ("no spaces.test", "InvalidHandle"), ("x.test", "InvalidHandle"),
                                ("alice.localhost", "InvalidHandle")] {
            let bad = try await server.procedure("com.atproto.identity.updateHandle", ["handle": .string(handle)], token: alice.accessJwt)
            #expect(bad.status == 400 && bad.error == error, "\(handle): \(bad.status) \(bad.text)")
        }
        let unauthenticated = try await server.procedure("com.atproto.identity.updateHandle", ["handle": "alice3.test"])
        #expect(unauthenticated.status == 401)
        #expect(try await server.sequencedEvents().count == events)
        #expect(plc.operations(alice.did).count == 2)
    }

    @Test func anUnavailableDirectoryIsRetried() async throws {
        // Down for the creation's and the handle change's own attempts.
        let plc = try await FakePLCDirectory(unavailableFor: 2)
        defer { plc.stop() }
        let server = try await TestServer.start { $0.plcDirectoryURL = plc.url }
        defer { Task { await server.stop() } }
        let alice = try await server.createAccount("alice")
        // The handle change queues behind the genesis.
        let reply = try await server.procedure("com.atproto.identity.updateHandle", ["handle": "alice2.test"], token: alice.accessJwt)
        #expect(reply.status == 200)
        let deadline = ContinuousClock.now + .seconds(30)
        while plc.operations(alice.did).count < 2 && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(200)) }
        #expect(plc.operations(alice.did).count == 2, "refusals: \(plc.state.refusals.withLock { $0 })")
        #expect(plc.operations(alice.did).last?["alsoKnownAs"] == ["at://alice2.test"])
        #expect(try await server.count("SELECT COUNT(*) FROM plc_operation WHERE did = ? AND state = 'submitted'", [alice.did]) == 2)
        #expect(plc.state.unavailable.withLock { $0 } < 0, "both 503 answers were used")
        #expect(try await server.count("SELECT MAX(attempts) FROM plc_operation WHERE did = ?", [alice.did]) >= 1)
    }

    @Test func aNewPublicURLIsAnnouncedInTheDIDDocuments() async throws {
        let plc = try await FakePLCDirectory()
        defer { plc.stop() }
        let server = try await TestServer.start { $0.plcDirectoryURL = plc.url }
        defer { Task { await server.stop() } }
        let alice = try await server.createAccount("alice")
        // The same data directory served at another URL.
        var config = server.services.config
        config.publicURL = "https://pds.example.com"
        let moved = try PDSServices(config: config, passwordStrength: .testing, logger: server.services.logger)
        try await PLCSubmitter.reconcileEndpoints(services: moved)
        #expect(plc.operations(alice.did).count == 2, "refusals: \(plc.state.refusals.withLock { $0 })")
        #expect(plc.operations(alice.did).last?["services"]?["atproto_pds"]?["endpoint"]?.stringValue == "https://pds.example.com")
        #expect(try await Self.identityHandles(server, alice.did).count == 2)
        // Nothing more to do the second time.
        try await PLCSubmitter.reconcileEndpoints(services: moved)
        #expect(plc.operations(alice.did).count == 2)
    }

    @Test func withoutADirectoryOperationsAreKeptUnsubmitted() async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let alice = try await server.createAccount("alice")
        _ = try await server.procedure("com.atproto.identity.updateHandle", ["handle": "alice2.test"], token: alice.accessJwt)
        #expect(try await server.count("SELECT COUNT(*) FROM plc_operation WHERE did = ? AND state = 'unsubmitted'", [alice.did]) == 2)
        #expect(try await Self.identityHandles(server, alice.did).last == "alice2.test")
    }

    @Test func handlesResolveLocallyThenByDNSAndExternalHandlesMustPointBack() async throws {
        let server0 = try await TestServer.start()
        defer { Task { await server0.stop() } }
        let dns = try FakeDNSServer(records: [:])
        defer { dns.stop() }
        let server = try await TestServer.start { $0.handleDNSServer = "127.0.0.1:\(dns.port)" }
        defer { Task { await server.stop() } }
        let alice = try await server.createAccount("alice")
        let bobby = try await server.createAccount("bobby")
        dns.records.withLock {
            $0["_atproto.alice.example.com"] = ["did=\(alice.did)"]
            $0["_atproto.elsewhere.example.com"] = ["did=did:plc:abcdefghijklmnopqrstuvwx"]
        }
        func resolve(_ handle: String) async throws -> TestServer.Reply {
            try await server.query("com.atproto.identity.resolveHandle", [("handle", handle)])
        }
        #expect(try await resolve("alice.test")["did"]?.stringValue == alice.did)
        #expect(try await resolve("nobody.test").error == "HandleNotFound")
        #expect(try await resolve("elsewhere.example.com")["did"]?.stringValue == "did:plc:abcdefghijklmnopqrstuvwx")
        #expect(try await resolve("not a handle").status == 400)

        // An external handle is accepted only when it resolves to the caller.
        let wrong = try await server.procedure("com.atproto.identity.updateHandle", ["handle": "alice.example.com"], token: bobby.accessJwt)
        #expect(wrong.status == 400 && wrong.error == "InvalidHandle", "\(wrong.text)")
        let right = try await server.procedure("com.atproto.identity.updateHandle", ["handle": "alice.example.com"], token: alice.accessJwt)
        #expect(right.status == 200, "\(right.text)")
        #expect(try await resolve("alice.example.com")["did"]?.stringValue == alice.did)
        #expect(try await Self.identityHandles(server, alice.did).last == "alice.example.com")

        // Sessions show the external handle while it points back, and
        // `handle.invalid` once it names another DID.
        #expect(try await server.query("com.atproto.server.getSession", token: alice.accessJwt)["handle"] == "alice.example.com")
        dns.records.withLock { $0["_atproto.alice.example.com"] = ["did=\(bobby.did)"] }
        #expect(try await server.query("com.atproto.server.getSession", token: alice.accessJwt)["handle"] == "handle.invalid")
        #expect(try await server.query("com.atproto.server.getSession", token: bobby.accessJwt)["handle"] == "bobby.test")
    }

    @Test func identitiesResolveWithVerifiedHandles() async throws {
        let plc = try await FakePLCDirectory()
        defer { plc.stop() }
        let dns = try FakeDNSServer(records: [:])
        defer { dns.stop() }
        let server = try await TestServer.start {
            $0.plcDirectoryURL = plc.url
            $0.handleDNSServer = "127.0.0.1:\(dns.port)"
        }
        defer { Task { await server.stop() } }
        let alice = try await server.createAccount("alice")
        let byHandle = try await server.query("com.atproto.identity.resolveIdentity", [("identifier", "alice.test")])
        #expect(byHandle["did"]?.stringValue == alice.did && byHandle["handle"]?.stringValue == "alice.test", "\(byHandle.text)")
        #expect(byHandle["didDoc"]?["id"]?.stringValue == alice.did)
        let byDID = try await server.query("com.atproto.identity.resolveDid", [("did", alice.did)])
        #expect(byDID["didDoc"]?["service"]?[0]?["serviceEndpoint"]?.stringValue == server.baseURL)
        #expect(try await server.query("com.atproto.identity.resolveDid", [("did", "did:plc:abcdefghijklmnopqrstuvwx")]).error == "DidNotFound")
        #expect(try await server.query("com.atproto.identity.resolveIdentity", [("identifier", "nobody.test")]).error == "HandleNotFound")

        // An external handle the document claims but whose DNS names another DID is not verified.
        let moved = try await server.procedure("com.atproto.identity.updateHandle", ["handle": "alice.example.com"], token: alice.accessJwt)
        #expect(moved.status == 400)
        dns.records.withLock { $0["_atproto.alice.example.com"] = ["did=\(alice.did)"] }
        #expect(try await server.procedure("com.atproto.identity.updateHandle", ["handle": "alice.example.com"], token: alice.accessJwt).status == 200)
        #expect(try await server.query("com.atproto.identity.resolveIdentity", [("identifier", alice.did)])["handle"]?.stringValue == "alice.example.com")
        dns.records.withLock { $0["_atproto.alice.example.com"] = ["did=did:plc:abcdefghijklmnopqrstuvwx"] }
        let refreshed = try await server.procedure("com.atproto.identity.refreshIdentity", ["identifier": .string(alice.did)])
        #expect(refreshed["handle"]?.stringValue == "handle.invalid", "\(refreshed.text)")
    }

    @Test func wellKnownAtprotoDIDAnswersByHost() async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let alice = try await server.createAccount("alice")
        let found = try await server.request("GET", "/.well-known/atproto-did", headers: ["Host": "alice.test"])
        #expect(found.status == 200 && found.text == alice.did)
        let missing = try await server.request("GET", "/.well-known/atproto-did", headers: ["Host": "nobody.test"])
        #expect(missing.status == 404)
        let other = try await server.request("GET", "/.well-known/atproto-did")
        #expect(other.status == 404)
        for (domain, status) in [("alice.test", 200), ("localhost", 200), ("nobody.test", 404), ("evil.example.com", 404)] {
            #expect(try await server.request("GET", "/tls-check", query: [("domain", domain)]).status == status, "\(domain)")
        }
    }

    @Test func recommendedCredentialsAndSignedOperations() async throws {
        let plc = try await FakePLCDirectory()
        defer { plc.stop() }
        let server = try await TestServer.start { $0.plcDirectoryURL = plc.url }
        defer { Task { await server.stop() } }
        let alice = try await server.createAccount("alice")
        let credentials = try await server.query("com.atproto.identity.getRecommendedDidCredentials", token: alice.accessJwt)
        #expect(credentials["rotationKeys"]?[0]?.stringValue == server.services.secrets.rotationKey.publicKey.didKey)
        #expect(credentials["services"]?["atproto_pds"]?["endpoint"]?.stringValue == server.baseURL)

        let noToken = try await server.procedure("com.atproto.identity.signPlcOperation", ["token": "AAAAA-BBBBB"], token: alice.accessJwt)
        #expect(noToken.status == 400 && noToken.error == "InvalidToken")
        #expect(try await server.procedure("com.atproto.identity.requestPlcOperationSignature", token: alice.accessJwt).status == 200)
        let token = try #require(try await server.emailToken(alice.did, "plc_operation"))
        let userKey = PrivateKey.generate(.secp256k1).publicKey.didKey
        let signed = try await server.procedure(
            "com.atproto.identity.signPlcOperation",
            ["token": .string(token), "rotationKeys": [.string(userKey), .string(server.services.secrets.rotationKey.publicKey.didKey)]],
            token: alice.accessJwt)
        #expect(signed.status == 200, "\(signed.text)")
        let operation = try #require(signed["operation"])
        #expect(plc.operations(alice.did).count == 1, "signing does not submit")
        let submitted = try await server.procedure("com.atproto.identity.submitPlcOperation", ["operation": operation], token: alice.accessJwt)
        #expect(submitted.status == 200, "\(submitted.text)")
        #expect(plc.operations(alice.did).last?["rotationKeys"]?[0]?.stringValue == userKey)
        // An operation moving the account away is not submitted from here.
        guard case .map(var moved) = operation else { return }
        moved["services"] = ["atproto_pds": ["type": "AtprotoPersonalDataServer", "endpoint": "https://elsewhere.example.com"]]
        let refused = try await server.procedure("com.atproto.identity.submitPlcOperation", ["operation": .map(moved)], token: alice.accessJwt)
        #expect(refused.status == 400)
        #expect(plc.operations(alice.did).count == 2)
    }
}

@Suite("did:web accounts hosted here")
struct HostedDidWebTests {
    @Test func aDidWebUnderOurDomainIsCreatedActiveAndItsDocumentServedByHost() async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let before = try await server.latestSeq()
        let created = try await server.procedure(
            "com.atproto.server.createAccount",
            ["handle": "carol.test", "did": "did:web:carol.test", "email": "carol@example.com", "password": "a long password"])
        #expect(created.status == 200, "\(created.text)")
        #expect(created["did"]?.stringValue == "did:web:carol.test")
        let token = try #require(created["accessJwt"]?.stringValue)

        // The document, served for the handle's host, names the account's key, handle and this server.
        let document = try await server.request("GET", "/.well-known/did.json", headers: ["Host": "carol.test"])
        #expect(document.status == 200)
        #expect(document["id"]?.stringValue == "did:web:carol.test")
        #expect(document["alsoKnownAs"]?[0]?.stringValue == "at://carol.test")
        #expect(document["service"]?[0]?["serviceEndpoint"]?.stringValue == server.baseURL)
        #expect(document["verificationMethod"] == created["didDoc"]?["verificationMethod"])
        let account = try #require(try await server.services.accounts.account(did: try DID("did:web:carol.test")))
        #expect(document["verificationMethod"]?[0]?["publicKeyMultibase"]?.stringValue == account.signingKey.publicKey.multikey)

        // Active at once: it posts, and the network heard of it like any new account.
        #expect(try await server.post("did:web:carol.test", "hello from a did:web", token: token).status == 200)
        let events = try await server.sequencedEvents().filter { $0.seq > before }
        #expect(events.map(\.type) == ["#identity", "#account", "#sync", "#commit"])

        // Other hosts: the service's own document, or nothing.
        #expect(try await server.request("GET", "/.well-known/did.json", headers: ["Host": "nobody.test"]).status == 404)
        #expect(try await server.request("GET", "/.well-known/did.json")["id"]?.stringValue == server.services.config.resolvedServiceDID)
    }

    @Test func aHostedDidWebMustBeItsHandlesOwn() async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let mismatched = try await server.procedure(
            "com.atproto.server.createAccount",
            ["handle": "dave.test", "did": "did:web:carol.test", "email": "dave@example.com", "password": "a long password"])
        #expect(mismatched.status == 400 && mismatched.error == "InvalidRequest", "\(mismatched.text)")
        #expect(try await server.services.accounts.account(did: try DID("did:web:carol.test")) == nil)
        #expect(try await server.request("GET", "/.well-known/did.json", headers: ["Host": "carol.test"]).status == 404)
    }
}
