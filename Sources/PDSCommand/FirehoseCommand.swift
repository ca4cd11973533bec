import ATProto
import ArgumentParser
import Foundation
import HummingbirdWSClient
import Logging
import Sequencer

/// `pds firehose tail`: prints the events of a server's `subscribeRepos`
/// stream, one line each, for self-hosters checking what relays will see.
struct FirehoseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "firehose", abstract: "Read a PDS's event stream.", subcommands: [Tail.self])

    struct Tail: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print decoded subscribeRepos events (#commit, #sync, #identity, #account, #info).")

        @Option(help: "The server's WebSocket base URL.") var url: String = "ws://localhost:2583"
        @Option(help: "Replay from after this sequence number.") var cursor: Int64?
        @Option(help: "Stop after this many events.") var limit: Int?

        func run() async throws {
            var address = url.hasSuffix("/") ? String(url.dropLast()) : url
            address += "/xrpc/com.atproto.sync.subscribeRepos"
            if let cursor { address += "?cursor=\(cursor)" }
            var logger = Logger(label: "firehose-tail")
            logger.logLevel = .warning
            let limit = self.limit
            let failure = try await WebSocketClient.connect(
                url: address, configuration: .init(maxFrameSize: 16 << 20), logger: logger
            ) { inbound, _, _ in
                var count = 0
                for try await message in inbound.messages(maxSize: 16 << 20) {
                    guard case .binary(let buffer) = message else { continue }
                    let (header, body) = try Frames.decode(Array(buffer.readableBytesView))
                    FileHandle.standardOutput.write(Data((Tail.line(header: header, body: body) + "\n").utf8))
                    if header["op"] == .int(-1) { throw ExitCode.failure }
                    count += 1
                    if let limit, count >= limit { return }
                }
            }
            if let failure, failure.closeCode != .normalClosure {
                throw ValidationError("the server closed the stream: \(failure.closeCode) \(failure.reason ?? "")")
            }
        }

        /// One event as a line: `seq type repo` and what changed.
        static func line(header: DataMap, body: DataMap) -> String {
            if header["op"] == .int(-1) {
                return "error \(body["error"]?.stringValue ?? "?"): \(body["message"]?.stringValue ?? "")"
            }
            let type = header["t"]?.stringValue ?? "?"
            var parts = ["\(body["seq"]?.intValue.map(String.init) ?? "-")", type]
            if let did = body["repo"]?.stringValue ?? body["did"]?.stringValue { parts.append(did) }
            switch type {
            case "#commit":
                if let rev = body["rev"]?.stringValue { parts.append("rev=\(rev)") }
                for op in body["ops"]?.arrayValue ?? [] {
                    parts.append("\(op["action"]?.stringValue ?? "?") \(op["path"]?.stringValue ?? "?")")
                }
            case "#sync":
                if let rev = body["rev"]?.stringValue { parts.append("rev=\(rev)") }
            case "#identity":
                if let handle = body["handle"]?.stringValue { parts.append("handle=\(handle)") }
            case "#account":
                parts.append("active=\(body["active"]?.boolValue.map(String.init) ?? "?")")
                if let status = body["status"]?.stringValue { parts.append("status=\(status)") }
            case "#info":
                parts.append("\(body["name"]?.stringValue ?? ""): \(body["message"]?.stringValue ?? "")")
            default:
                break
            }
            return parts.joined(separator: " ")
        }
    }
}
