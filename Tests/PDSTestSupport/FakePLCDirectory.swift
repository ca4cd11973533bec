import ATCrypto
import ATProto
import Foundation
import TestSupport
import Hummingbird
import Synchronization

/// A PLC directory double on a loopback port, written from the did:plc spec:
/// `POST /<did>` accepts a signed operation only if its signature verifies
/// with a rotation key (of the operation itself for a genesis, whose
/// DAG-CBOR hash must give the DID; of the previous operation otherwise)
/// and its `prev` is the CID of the DID's last operation. `GET /<did>`
/// answers the DID document, `GET /<did>/log/last` the last operation.
public final class FakePLCDirectory: Sendable {
    public let port: Int
    let task: Task<Void, any Error>
    public let state = State()

    public var url: String { "http://127.0.0.1:\(port)" }

    /// - Parameter unavailableFor: how many submissions are first answered
    ///   `503 Service Unavailable`, as a directory that is down.
    public init(port fixedPort: Int? = nil, unavailableFor: Int = 0) async throws {
        let port = try fixedPort ?? freePort()
        self.port = port
        let router = Router()
        let state = self.state
        state.unavailable.withLock { $0 = unavailableFor }
        router.post("/:did") { request, context -> Response in
            let down = state.unavailable.withLock {
                $0 -= 1
                return $0 >= 0
            }
            if down { return Response(status: .serviceUnavailable) }
            let did = context.parameters.get("did") ?? ""
            let body = try await request.body.collect(upTo: 1 << 20)
            guard let operation = try? ATProtoJSON.decode(Array(buffer: body), mode: .lenient) else {
                return state.refuse("not JSON")
            }
            if let reason = state.accept(operation, did: did) { return state.refuse(reason) }
            return Response(status: .ok)
        }
        router.get("/:did") { _, context -> Response in
            let did = context.parameters.get("did") ?? ""
            guard let last = state.log.withLock({ $0[did]?.last }) else { return Response(status: .notFound) }
            return State.json(FakePLCDirectory.document(did: did, operation: last))
        }
        router.get("/:did/log/last") { _, context -> Response in
            let did = context.parameters.get("did") ?? ""
            guard let last = state.log.withLock({ $0[did]?.last }) else { return Response(status: .notFound) }
            return State.json(last)
        }
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)))
        task = Task.detached { try await app.run() }
        try await waitUntilListening(port)
    }

    public func stop() { task.cancel() }

    public func operations(_ did: String) -> [DataValue] { state.log.withLock { $0[did] ?? [] } }
}

extension FakePLCDirectory {
    /// The directory's operations and refusals.
    public final class State: Sendable {
        /// The accepted operations per DID, in order.
        public let log = Mutex<[String: [DataValue]]>([:])
        public let refusals = Mutex<[String]>([])
        /// Submissions still to answer with 503.
        public let unavailable = Mutex(0)

    func refuse(_ reason: String) -> Response {
        refusals.withLock { $0.append(reason) }
        return Response(status: .badRequest, headers: [.contentType: "application/json"],
                        body: .init(byteBuffer: ByteBuffer(bytes: ATProtoJSON.encode(["message": .string(reason)]))))
    }

    static func json(_ value: DataValue) -> Response {
        Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: ATProtoJSON.encode(value))))
    }

    /// Nil when `operation` is accepted (and appended), else why not.
    func accept(_ operation: DataValue, did: String) -> String? {
        guard case .map(var unsigned) = operation, operation["type"]?.stringValue == "plc_operation",
            let sig = operation["sig"]?.stringValue, let signature = Base64.decode(sig, alphabet: .url)
        else { return "not a signed plc_operation" }
        unsigned["sig"] = nil
        for key in ["rotationKeys", "alsoKnownAs"] where operation[key]?.arrayValue == nil { return "missing \(key)" }
        for key in ["verificationMethods", "services"] where operation[key]?.mapValue == nil { return "missing \(key)" }
        guard unsigned["prev"] != nil else { return "missing prev" }
        let message = DAGCBOR.encode(.map(unsigned))
        return log.withLock { log -> String? in
            let history = log[did] ?? []
            let keys: [DataValue]
            if let last = history.last {
                guard operation["prev"]?.stringValue == CID.compute(DAGCBOR.encode(last)).string else { return "prev is not the last operation" }
                keys = last["rotationKeys"]?.arrayValue ?? []
            } else {
                guard operation["prev"] == .null else { return "a genesis operation has prev null" }
                let digest = CID.compute(DAGCBOR.encode(operation)).digest
                guard did == "did:plc:" + String(Base32.encode(digest).prefix(24)) else { return "the DID is not the genesis hash" }
                keys = operation["rotationKeys"]?.arrayValue ?? []
            }
            let valid = keys.contains { key in
                guard let text = key.stringValue, let publicKey = try? PublicKey(didKey: text) else { return false }
                return publicKey.verify(signature: signature, message: message)
            }
            guard valid else { return "invalid signature" }
            log[did, default: []].append(operation)
            return nil
        }
    }

    }

    /// The DID document the operation describes.
    static func document(did: String, operation: DataValue) -> DataValue {
        var methods: [DataValue] = []
        for (id, key) in operation["verificationMethods"]?.mapValue ?? [:] {
            guard let text = key.stringValue, text.hasPrefix("did:key:") else { continue }
            methods.append(["id": .string("\(did)#\(id)"), "type": "Multikey", "controller": .string(did),
                            "publicKeyMultibase": .string(String(text.dropFirst(8)))])
        }
        var services: [DataValue] = []
        for (id, service) in operation["services"]?.mapValue ?? [:] {
            services.append(["id": .string("#\(id)"), "type": service["type"] ?? "", "serviceEndpoint": service["endpoint"] ?? ""])
        }
        return [
            "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"],
            "id": .string(did), "alsoKnownAs": operation["alsoKnownAs"] ?? [], "verificationMethod": .array(methods),
            "service": .array(services),
        ]
    }
}
