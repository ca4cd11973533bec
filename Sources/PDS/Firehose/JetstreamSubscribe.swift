import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdWebSocket
import JetstreamCompression
import NIOCore
import Sequencer
import Synchronization

/// `/subscribe`: the event log as Jetstream-format JSON (one text message
/// per event), for consumers that would rather not decode CBOR and CARs.
///
/// Query: `wantedCollections` (repeatable, NSIDs or `prefix.*`),
/// `wantedDids` (repeatable), `cursor` (unix microseconds, inclusive),
/// `maxMessageSizeBytes`, `requireHello` (send nothing until the first
/// `options_update`), `compress=true` (or the header `Socket-Encoding: zstd`:
/// binary messages, each a zstd frame compressed with Jetstream v1's
/// dictionary, as Jetstream sends them). The consumer may send
/// `{"type": "options_update", "payload": {...}}` at any time to replace its
/// filters. Bad parameters refuse the upgrade (`400`).
enum JetstreamSubscribe {
    static let path: RouterPath = "/subscribe"

    /// A consumer's request, checked before the upgrade so that bad
    /// parameters get a plain 400.
    struct Request: Sendable {
        let cursor: Int64?
        let options: JetstreamOptions
        let requireHello: Bool
        let compress: Bool

        init(query: [(name: String, value: String)], socketEncoding: String? = nil) throws(XRPCError) {
            func last(_ name: String) -> String? { query.last { $0.name == name }?.value }
            if let raw = last("cursor") {
                guard let value = Int64(raw), value >= 0 else { throw .invalidRequest("cursor must be a non-negative integer (unix microseconds)") }
                cursor = value
            } else {
                cursor = nil
            }
            compress = last("compress") == "true" || last("compress") == "1" || socketEncoding?.lowercased().contains("zstd") == true
            requireHello = last("requireHello") == "true" || last("requireHello") == "1"
            do {
                options = try JetstreamOptions(query: query)
            } catch {
                throw .invalidRequest("\(error)")
            }
        }
    }

    /// Adds the route to the WebSocket router.
    static func add(to router: Router<PDSRequestContext>, services: PDSServices) {
        let stream = JetstreamStream(
            hub: services.sequencer, bufferSize: services.config.subscriberBufferSize,
            compressor: ZstdCompressor(dictionary: JetstreamZstd.dictionary))
        router.ws(path) { request, context in
            // A refused upgrade is answered `400` with no body (the
            // WebSocket layer drops it), so the reason goes to the log.
            do {
                _ = try Request(query: queryItems(request), socketEncoding: socketEncoding(request))
            } catch let error as XRPCError {
                context.logger.info("/subscribe refused", metadata: ["reason": .string(error.message)])
                throw error
            }
            return .upgrade([:])
        } onUpgrade: { inbound, outbound, context in
            let consumer = try Request(query: queryItems(context.request), socketEncoding: socketEncoding(context.request))
            let options = CurrentOptions(consumer.options)
            let (hello, helloReceived) = AsyncStream<Void>.makeStream()
            if !consumer.requireHello { helloReceived.finish() }
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    defer { helloReceived.finish() }
                    for try await message in inbound.messages(maxSize: 1 << 20) {
                        guard case .text(let text) = message else { continue }
                        do {
                            let update = try JetstreamOptions(optionsUpdate: Array(text.utf8))
                            options.replace(with: update)
                            helloReceived.finish()
                        } catch {
                            // A close reason holds at most 123 bytes.
                            let reason = String(decoding: Array("\(error)".utf8.prefix(120)), as: UTF8.self)
                            try await outbound.close(.policyViolation, reason: reason)
                            return
                        }
                    }
                }
                group.addTask {
                    for await _ in hello {}
                    try await stream.run(cursor: consumer.cursor, compress: consumer.compress, options: { options.value }) { message in
                        if consumer.compress {
                            try await outbound.write(.binary(ByteBuffer(bytes: message)))
                        } else {
                            try await outbound.write(.text(String(decoding: message, as: UTF8.self)))
                        }
                    }
                    // The tail ends by itself only when the consumer fell behind.
                    try await outbound.close(.policyViolation, reason: "ConsumerTooSlow")
                    try await Task.sleep(for: SubscribeRepos.closeTimeout)
                }
                _ = try await group.next()
                group.cancelAll()
            }
        }
    }

    /// A consumer's options, replaced by its `options_update` messages
    /// while its events are being sent.
    final class CurrentOptions: Sendable {
        private let state: Mutex<JetstreamOptions>
        init(_ options: JetstreamOptions) { state = Mutex(options) }
        var value: JetstreamOptions { state.withLock { $0 } }
        func replace(with options: JetstreamOptions) { state.withLock { $0 = options } }
    }

    static func socketEncoding(_ request: Hummingbird.Request) -> String? {
        request.headers[HTTPField.Name("Socket-Encoding")!]
    }

    static func queryItems(_ request: Hummingbird.Request) -> [(name: String, value: String)] {
        request.uri.queryParameters.map { (name: String($0.key), value: String($0.value)) }
    }
}

extension XRPCError: HTTPResponseError {
    public func response(from request: Hummingbird.Request, context: some RequestContext) throws -> Response {
        XRPCMethods.response(for: self)
    }
}
