import ATProto
import CZlib
import Foundation
import PDSTestSupport
import Testing

@testable import PDS

/// gunzip for the tests (zlib's inflate with the gzip wrapper).
func gunzip(_ data: [UInt8]) throws -> [UInt8] {
    var stream = z_stream()
    guard inflateInit2_(&stream, 15 + 16, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else { throw TestError("inflateInit2") }
    defer { inflateEnd(&stream) }
    var input = data
    var output: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65_536)
    var status: Int32 = Z_OK
    input.withUnsafeMutableBufferPointer { buffer in
        stream.next_in = buffer.baseAddress
        stream.avail_in = UInt32(buffer.count)
        repeat {
            status = chunk.withUnsafeMutableBufferPointer { out in
                stream.next_out = out.baseAddress
                stream.avail_out = UInt32(out.count)
                return inflate(&stream, Z_NO_FLUSH)
            }
            output += chunk[0..<(chunk.count - Int(stream.avail_out))]
        } while status == Z_OK
    }
    guard status == Z_STREAM_END else { throw TestError("not a complete gzip stream (\(status))") }
    return output
}

@Suite("gzip of large responses")
struct ResponseCompressionTests {
    @Test func listRecordsAndGetRepoAreGzippedWhenAccepted() async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let alice = try await server.createAccount("alice")
        for i in 0..<40 { #expect(try await server.post(alice.did, "post number \(i) with some text", token: alice.accessJwt).status == 200) }
        let list: [(String, String)] = [("repo", alice.did), ("collection", "app.bsky.feed.post"), ("limit", "100")]
        for (path, query) in [("/xrpc/com.atproto.repo.listRecords", list), ("/xrpc/com.atproto.sync.getRepo", [("did", alice.did)])] {
            let plain = try await server.request("GET", path, query: query, headers: ["Accept-Encoding": "identity"])
            let zipped = try await server.request("GET", path, query: query, headers: ["Accept-Encoding": "br;q=1.0, gzip;q=0.8"])
            #expect(plain.status == 200 && zipped.status == 200)
            #expect(plain.headers["content-encoding"] == nil)
            #expect(zipped.headers["content-encoding"] == "gzip", "\(path)")
            #expect(zipped.headers["vary"]?.contains("Accept-Encoding") == true)
            // Foundation may already have inflated it; if not, inflate here.
            let body = zipped.body.starts(with: [0x1f, 0x8b]) ? try gunzip(zipped.body) : zipped.body
            #expect(body == plain.body, "\(path): the gzipped body inflates to the plain one")
            #expect(zipped.body.count < plain.body.count || !zipped.body.starts(with: [0x1f, 0x8b]))
        }
        // Small answers, refusals and blobs go as they are.
        let small = try await server.request("GET", "/xrpc/com.atproto.server.describeServer", headers: ["Accept-Encoding": "gzip"])
        #expect(small.status == 200 && small.headers["content-encoding"] == nil)
        let refused = try await server.request("GET", "/xrpc/com.atproto.repo.listRecords", query: list, headers: ["Accept-Encoding": "gzip;q=0"])
        #expect(refused.headers["content-encoding"] == nil)
    }

    @Test func acceptEncodingParsing() {
        #expect(ResponseCompressionMiddleware.acceptsGzip("gzip"))
        #expect(ResponseCompressionMiddleware.acceptsGzip("deflate, gzip;q=0.5"))
        #expect(ResponseCompressionMiddleware.acceptsGzip("*"))
        #expect(!ResponseCompressionMiddleware.acceptsGzip("gzip;q=0"))
        #expect(!ResponseCompressionMiddleware.acceptsGzip("identity"))
        #expect(!ResponseCompressionMiddleware.acceptsGzip(nil))
    }

    @Test func deflaterOutputInflatesBack() throws {
        let input = (0..<200_000).map { UInt8(truncatingIfNeeded: $0 % 251 ^ ($0 >> 7)) }
        let deflater = try GzipDeflater()
        var output: [UInt8] = []
        for start in stride(from: 0, to: input.count, by: 7_000) {
            output += try deflater.compress(input[start..<min(input.count, start + 7_000)])
        }
        output += try deflater.finish()
        #expect(try gunzip(output) == input)
        #expect(try gunzip(try GzipDeflater().finish()) == [])
    }
}
