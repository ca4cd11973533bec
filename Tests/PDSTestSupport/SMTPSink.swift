import ATProto
import Foundation
import TestSupport

#if canImport(Glibc)
    import Glibc
#endif

/// A real SMTP server for the mail tests (`Tests/Python/smtp_sink.py`,
/// aiosmtpd from the tests' venv) on a loopback port, writing each message
/// it accepts to a directory, where ``messages()`` reads them. It can be
/// stopped and started again on the same port and directory.
public final class SMTPSink: @unchecked Sendable {
    /// What the sink makes the server face.
    public struct Options: Sendable {
        /// STARTTLS required, with a certificate of a CA of its own (``caFile``).
        public var tls = false
        /// AUTH required with these credentials.
        public var credentials: (user: String, password: String)?
        /// The first `count` recipients are refused with `code`.
        public var refuse: (count: Int, code: Int)?
        public init(tls: Bool = false, credentials: (user: String, password: String)? = nil, refuse: (count: Int, code: Int)? = nil) {
            self.tls = tls
            self.credentials = credentials
            self.refuse = refuse
        }
    }

    /// One accepted message, as a mail reader decodes it.
    public struct Message: Sendable {
        public let json: DataValue
        public var recipients: [String] { json["rcpt_tos"]?.arrayValue?.compactMap(\.stringValue) ?? [] }
        public var subject: String { json["subject"]?.stringValue ?? "" }
        public var text: String { json["text"]?.stringValue ?? "" }
        public var html: String { json["html"]?.stringValue ?? "" }
        public var raw: String { json["raw"]?.stringValue ?? "" }
        public var messageID: String { json["message_id"]?.stringValue ?? "" }
        public var usedTLS: Bool { json["tls"]?.boolValue ?? false }
        public var user: String? { json["user"]?.stringValue }
        public subscript(key: String) -> String? { json[key]?.stringValue }

        /// The first `XXXXX-XXXXX` token in the text body.
        public var token: String? {
            text.range(of: "[A-Z2-7]{5}-[A-Z2-7]{5}", options: .regularExpression).map { String(text[$0]) }
        }
    }

    public let port: Int
    public let directory: URL
    public let options: Options
    private var process: ChildProcess?

    /// The CA the server's certificate is signed by (with `tls`).
    public var caFile: String { directory.appendingPathComponent("ca.pem").path }

    /// The URL a PDS is configured with.
    public var url: String {
        let credentials = options.credentials.map { "\($0.user):\($0.password)@" } ?? ""
        return "smtp://\(credentials)localhost:\(port)"
    }

    public init(_ options: Options = Options()) async throws {
        port = try freePort()
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("smtp-sink-\(UUID().uuidString)")
        self.options = options
        try await start()
    }

    /// Starts the server (again), waiting until it accepts connections.
    public func start() async throws {
        var arguments = [
            "-W", "ignore", ProjectTools.root.appendingPathComponent("Tests/Python/smtp_sink.py").path, "--port", String(port), "--dir",
            directory.path,
        ]
        if options.tls { arguments.append("--tls") }
        if let credentials = options.credentials { arguments += ["--auth", "\(credentials.user):\(credentials.password)"] }
        if let refuse = options.refuse { arguments += ["--refuse", String(refuse.count), "--refuse-code", String(refuse.code)] }
        let process = try ChildProcess(ProjectTools.python, arguments)
        self.process = process
        // Two of TestSupport's 5 s waits: Python's start (and a new test CA)
        // is slow on a loaded machine.
        for _ in 0..<2 where (try? await waitUntilListening(port)) != nil { return }
        await stop()
        throw TestError("the SMTP sink did not start on port \(port)")
    }

    /// Stops the server; its port refuses connections afterwards. SIGKILL:
    /// the test process's blocked signals are inherited, so SIGTERM may
    /// never arrive, and the sink has nothing to save (each message file
    /// is renamed into place whole).
    public func stop() async {
        guard let process else { return }
        process.send(SIGKILL)
        _ = await process.waitForExit()
        self.process = nil
    }

    /// Stops the server and removes its directory.
    public func remove() async {
        await stop()
        try? FileManager.default.removeItem(at: directory)
    }

    /// The accepted messages, in order.
    public func messages() throws -> [Message] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return try names.filter { $0.hasSuffix(".json") }.sorted().map { name in
            let bytes = try Data(contentsOf: directory.appendingPathComponent(name))
            return Message(json: try ATProtoJSON.decode([UInt8](bytes), mode: .lenient))
        }
    }

    /// Waits up to `seconds` for at least `count` messages.
    public func waitForMessages(_ count: Int, seconds: Double = 15) async throws -> [Message] {
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        while ContinuousClock.now < deadline {
            let received = try messages()
            if received.count >= count { return received }
            try await Task.sleep(for: .milliseconds(100))
        }
        let received = try messages()
        guard received.count >= count else { throw TestError("\(received.count) of \(count) messages arrived in \(seconds) s") }
        return received
    }
}
