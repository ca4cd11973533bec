import ATCrypto
import ATProto
import Foundation
import Hummingbird
import NIOCore
import Synchronization
import TestSupport

/// A web host serving `/.well-known/did.json` from a mutable document.
final class DomainHost: Sendable {
    final class Document: Sendable {
        let value = Mutex<DataValue>([:])
    }

    let port: Int
    let document = Document()
    let task: Task<Void, any Error>
    var did: String { "did:web:127.0.0.1%3A\(port)" }

    init() async throws {
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

    func serve(pds: String, key: PublicKey?) {
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

    func stop() { task.cancel() }
}
