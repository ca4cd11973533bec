import ATCrypto
import ATProto
import Foundation
import Hummingbird
import NIOCore
import Synchronization
import TestSupport

/// A web host serving `/.well-known/did.json` from a mutable document.
public final class DomainHost: Sendable {
    public final class Document: Sendable {
        public let value = Mutex<DataValue>([:])
    }

    public let port: Int
    public let document = Document()
    public let task: Task<Void, any Error>
    public var did: String { "did:web:127.0.0.1%3A\(port)" }

    public init() async throws {
        let port = try freePort()
        self.port = port
        let router = Router()
        let document = self.document
        router.get("/.well-known/did.json") { _, _ -> Response in
            Response(status: .ok, headers: [.contentType: "application/json"],
                     body: .init(byteBuffer: ByteBuffer(bytes: ATProtoJSON.encode(document.value.withLock { $0 }))))
        }
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)))
        task = Task.detached { try await app.run() }
        try await waitUntilListening(port)
    }

    public func serve(pds: String, key: PublicKey?) {
        var methods: [DataValue] = []
        if let key {
            methods.append(["id": .string(did + "#atproto"), "type": "Multikey", "controller": .string(did),
                            "publicKeyMultibase": .string(key.multikey)])
        }
        document.value.withLock {
            $0 = ["id": .string(did), "alsoKnownAs": ["at://carol.test"], "verificationMethod": .array(methods),
                  "service": [["id": "#atproto_pds", "type": "AtprotoPersonalDataServer", "serviceEndpoint": .string(pds)]]]
        }
    }

    public func stop() { task.cancel() }
}
