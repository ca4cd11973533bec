import ATProto
import Foundation
import HTTPTypes
import JetstreamCompression
import PDSTestSupport
import Testing

@testable import PDS

/// `/subscribe` with `compress=true` (or `Socket-Encoding: zstd`) sends the
/// same events as zstd frames with Jetstream v1's dictionary; the `zstandard`
/// package (the reference zstd library) reads them, and our decompressor
/// reads the frames it writes.
@Suite("Jetstream view: zstd compression")
struct JetstreamCompressionTests {
    static let dictionaryPath = ProjectTools.root.appendingPathComponent("Sources/JetstreamCompression/jetstream-v1.zdict").path

    @Test func compressedConsumersGetZstdFramesOfTheSameEvents() async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let alice = try await server.createAccount("alice")
        let decompressor = ZstdDecompressor(dictionary: JetstreamZstd.dictionary)
        let plain = try await server.jetstream("wantedCollections=app.bsky.feed.post")
        let byQuery = try await server.jetstream("wantedCollections=app.bsky.feed.post&compress=true", decompressor: decompressor)
        let byHeader = try await server.jetstream(
            "wantedCollections=app.bsky.feed.post", headers: [HTTPField.Name("Socket-Encoding")!: "zstd"], decompressor: decompressor)
        defer { for client in [plain, byQuery, byHeader] { client.close() } }
        for i in 0..<5 { #expect(try await server.post(alice.did, "post \(i) " + String(repeating: "text ", count: 40), token: alice.accessJwt).status == 200) }
        let expected = try await plain.collect { $0.count == 5 }
        #expect(expected.compactMap(\.commitText).count == 5)
        #expect(try await byQuery.collect { $0.count == 5 } == expected)
        #expect(try await byHeader.collect { $0.count == 5 } == expected)
        #expect(plain.messageKinds == (5, 0))
        #expect(byQuery.messageKinds == (0, 5) && byHeader.messageKinds == (0, 5))
    }

    @Test func zstandardDecodesTheCompressedView() async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let alice = try await server.createAccount("alice")
        for i in 0..<3 { _ = try await server.post(alice.did, "for python \(i)", token: alice.accessJwt) }
        let plain = try await server.jetstream("wantedCollections=app.bsky.feed.post&cursor=0")
        defer { plain.close() }
        // The account's identity and account events, then the posts.
        let expected = try await plain.collect { $0.count == 5 }
        let url = "ws://127.0.0.1:\(server.port)/subscribe?wantedCollections=app.bsky.feed.post&cursor=0&compress=true"
        let (status, output) = try await ProjectTools.runPython(
            script: "Tests/Python/jetstream_zstd.py", arguments: ["subscribe", url, Self.dictionaryPath, "5"])
        #expect(status == 0, "\(output)")
        let decoded = try output.split(separator: "\n").map { try ATProtoJSON.decode(String($0), mode: .lenient) }
        #expect(decoded == expected)
        #expect(decoded.map { $0["kind"]?.stringValue } == ["identity", "account", "commit", "commit", "commit"])
        #expect(decoded.compactMap(\.commitText) == ["for python 0", "for python 1", "for python 2"])
    }

    @Test func ourDecompressorReadsFramesWrittenByZstandard() async throws {
        let lines = (0..<20).map { i in
            ATProtoJSON.encodeString([
                "did": "did:plc:eygmaihciaxprqvxpfvl6flk", "time_us": .int(1_725_911_162_329_308 + Int64(i)), "kind": "commit",
                "commit": [
                    "rev": "3l3qo2vutsw2b", "operation": "create", "collection": "app.bsky.feed.post", "rkey": .string("3l3qo2vuowo2\(i)"),
                    "record": ["$type": "app.bsky.feed.post", "text": .string("hello #atrarium_0badc0de number \(i)"), "createdAt": "2026-12-03T10:00:00.000Z"],
                    "cid": "bafyreidwaivazkwu67xztlmuobx35hs2lnfh3kolmgfmucldvhd3sgzcqi",
                ],
            ])
        }
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("zstd-lines-\(UUID().uuidString).jsonl")
        defer { try? FileManager.default.removeItem(at: file) }
        try Data(lines.joined(separator: "\n").utf8).write(to: file)
        let (status, output) = try await ProjectTools.runPython(
            script: "Tests/Python/jetstream_zstd.py", arguments: ["compress", Self.dictionaryPath, file.path])
        #expect(status == 0, "\(output)")
        let frames = output.split(separator: "\n").map { hex in
            stride(from: 0, to: hex.count, by: 2).map { UInt8(hex.dropFirst($0).prefix(2), radix: 16)! }
        }
        #expect(frames.count == lines.count)
        let decompressor = ZstdDecompressor(dictionary: JetstreamZstd.dictionary)
        for (frame, line) in zip(frames, lines) {
            #expect(String(decoding: try decompressor.decompress(frame, limit: 4096), as: UTF8.self) == line)
            #expect(frame.count < line.utf8.count)
        }
    }
}
