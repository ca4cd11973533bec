import ATProto
import AsyncHTTPClient
import Foundation
import Identity
import NIOCore

/// Talks to the configured PLC directory: submits signed operations
/// (`POST /<did>`) and reads a DID's last operation (`GET /<did>/log/last`).
struct PLCDirectoryClient: Sendable {
    let baseURL: String
    let http: GuardedHTTPClient

    /// Why a submission failed: `rejected` is final (the directory said the
    /// operation is invalid), `unreachable` is worth retrying.
    enum Failure: Error, CustomStringConvertible {
        case rejected(String)
        case unreachable(String)

        var description: String {
            switch self {
            case .rejected(let why): return "the PLC directory rejected the operation: \(why)"
            case .unreachable(let why): return "the PLC directory is unreachable: \(why)"
            }
        }
    }

    func submit(_ operation: DataValue, did: DID) async throws(Failure) {
        var request = HTTPClientRequest(url: "\(baseURL)/\(did)")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(bytes: ATProtoJSON.encode(operation)))
        let reply: GuardedHTTPClient.Reply
        do {
            reply = try await http.send(request, timeout: .seconds(10), maxBytes: 64 * 1024)
        } catch {
            throw .unreachable(error.description)
        }
        switch reply.status {
        case 200..<300: return
        case 400..<500: throw .rejected("\(reply.status) \(String(decoding: reply.body.prefix(500), as: UTF8.self))")
        default: throw .unreachable("status \(reply.status)")
        }
    }

    /// The directory's last operation of `did`.
    func lastOperation(did: DID) async throws -> DataValue {
        let reply = try await http.get("\(baseURL)/\(did)/log/last", timeout: .seconds(10))
        guard reply.status == 200 else {
            throw XRPCError(.badGateway, "UpstreamFailure", "the PLC directory has no operation for \(did) (\(reply.status))")
        }
        return try ATProtoJSON.decode(reply.body, mode: .lenient)
    }
}

extension PDSServices {
    /// The client of the configured PLC directory, or nil.
    var plcDirectory: PLCDirectoryClient? {
        config.resolvedPLCDirectoryURL.map { PLCDirectoryClient(baseURL: $0, http: identity.http) }
    }
}
