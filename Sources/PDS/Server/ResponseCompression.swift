import HTTPTypes
import Hummingbird
import NIOCore

/// Gzips JSON and CAR responses larger than ``minimumBytes`` (or of unknown
/// length, such as a streamed `getRepo`) for clients that send
/// `Accept-Encoding: gzip`. Blobs, small answers and errors go as they are.
struct ResponseCompressionMiddleware: RouterMiddleware {
    typealias Context = PDSRequestContext
    static let compressedTypes = ["application/json", "application/vnd.ipld.car"]
    var minimumBytes = 1_024

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response = try await next(request, context)
        guard request.method != .head, response.status == .ok, Self.acceptsGzip(request.headers[.acceptEncoding]),
            response.headers[.contentEncoding] == nil,
            let type = response.headers[.contentType], Self.compressedTypes.contains(where: { type.hasPrefix($0) }),
            (response.body.contentLength ?? .max) >= minimumBytes
        else { return response }
        let original = response.body
        response.headers[.contentEncoding] = "gzip"
        response.headers[.contentLength] = nil
        response.headers[values: .vary].append("Accept-Encoding")
        response.body = ResponseBody { writer in
            try await original.write(GzipResponseWriter(parent: writer, deflater: try GzipDeflater()))
        }
        return response
    }

    /// Whether an `Accept-Encoding` value allows gzip (and does not give it `q=0`).
    static func acceptsGzip(_ header: String?) -> Bool {
        guard let header else { return false }
        for item in header.split(separator: ",") {
            let parts = item.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
            guard parts.first == "gzip" || parts.first == "*" else { continue }
            let quality = parts.dropFirst().first { $0.hasPrefix("q=") }.flatMap { Double($0.dropFirst(2)) } ?? 1
            return quality > 0
        }
        return false
    }
}

/// Passes a response body through a ``GzipDeflater`` on its way out.
struct GzipResponseWriter: ResponseBodyWriter {
    var parent: any ResponseBodyWriter
    let deflater: GzipDeflater

    mutating func write(_ buffer: ByteBuffer) async throws {
        let compressed = try deflater.compress(buffer.readableBytesView)
        if !compressed.isEmpty { try await parent.write(ByteBuffer(bytes: compressed)) }
    }

    consuming func finish(_ trailingHeaders: HTTPFields?) async throws {
        let rest = try deflater.finish()
        if !rest.isEmpty { try await parent.write(ByteBuffer(bytes: rest)) }
        try await parent.finish(trailingHeaders)
    }
}
