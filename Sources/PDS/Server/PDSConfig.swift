import ATCrypto
import ATProto
import ConnectionGuard
import Foundation
import Repo
import ServiceStorage

/// How the server is set up: read from a JSON config file and then from
/// `PDS_*` environment variables (which win), with defaults that make
/// `pds serve` work on a laptop with nothing else.
public struct PDSConfig: Sendable, Codable, Equatable {
    /// The public host name (no scheme); handles are created under the
    /// `availableUserDomains`.
    public var hostname: String = "localhost"
    /// Address to bind.
    public var bindAddress: String = "127.0.0.1"
    /// Port to listen on (0 picks a free one, for tests).
    public var port: Int = 2583
    /// The public URL clients reach the server at; defaults to
    /// `http://<hostname>:<port>` for localhost, `https://<hostname>` otherwise.
    public var publicURL: String?
    /// Where the database, keys and blobs live.
    public var dataDirectory: String = "./data"
    /// The service's DID; defaults to `did:web:<hostname>`.
    public var serviceDID: String?
    /// Password of the `admin` user for admin endpoints (HTTP basic auth);
    /// admin endpoints are disabled when unset.
    public var adminPassword: String?
    /// Largest blob accepted by `uploadBlob`, in bytes.
    public var blobUploadLimit: Int = 100 * 1024 * 1024
    /// Total blob bytes one account may store.
    public var blobQuotaPerAccount: Int = 10 * 1024 * 1024 * 1024
    /// Seconds an uploaded blob that no record references is kept before the
    /// blob garbage collector deletes it.
    public var blobGracePeriod: Int = 3600
    /// Largest repository CAR accepted by `importRepo`, in bytes.
    public var repoImportLimit: Int = 1024 * 1024 * 1024
    /// Key type for new accounts' repository signing keys.
    public var signingKeyType: KeyType = .secp256k1
    /// Whether `createAccount` needs an invite code.
    public var inviteRequired: Bool = false
    /// Domains handles may be created under, each starting with a dot.
    public var availableUserDomains: [String] = [".test"]
    /// Largest request body for JSON procedures, in bytes.
    public var maxRequestBody: Int = 5 * 1024 * 1024
    /// Whether a reverse proxy in front sets `X-Forwarded-For` (then the
    /// client address for rate limits is taken from it).
    public var trustProxy: Bool = false
    /// Relays asked to crawl this server (`requestCrawl`), as base URLs;
    /// none by default (in production: `https://bsky.network`).
    public var crawlers: [String] = []
    /// Seconds between `requestCrawl`s, and the quiet spell after which a
    /// write triggers one at once.
    public var crawlInterval: Int = 20 * 60
    /// Rate limits, per window.
    public var rateLimits: RateLimitConfig = RateLimitConfig()
    /// Seconds the event log (`subscribeRepos`) keeps events.
    public var sequencerRetention: TimeInterval = 72 * 3600
    /// The most events the event log keeps.
    public var sequencerMaxEvents: Int = 1_000_000
    /// Events a `subscribeRepos` consumer may fall behind by before it is
    /// disconnected with `ConsumerTooSlow`.
    public var subscriberBufferSize: Int = 1_000
    /// The longest a live firehose event waits to be sent together with
    /// later ones, in milliseconds (at most one batch per interval; a
    /// consumer's socket is written once for every batch that piled up
    /// while its event loop was busy).
    public var firehoseFlushMilliseconds: Int = 5
    /// Memory, in MiB, for answers of `com.atproto.repo.getRecord` kept to
    /// serve repeated reads without the database (0: no cache).
    public var recordCacheMegabytes: Int = 64
    /// Seconds between the pings sent to WebSocket consumers; one that has
    /// not answered the previous ping by the next is disconnected.
    public var websocketPingInterval: Int = 30
    /// The PLC directory did:plc operations are submitted to and did:plc
    /// DIDs are resolved through. Unset: `https://plc.directory`, except
    /// when the hostname is `localhost` or a loopback address (a development
    /// server must not register DIDs pointing at itself with the real
    /// directory). Empty: none; accounts still get a signed did:plc genesis
    /// operation, kept unsubmitted (with a warning), and other did:plc DIDs
    /// cannot be resolved.
    public var plcDirectoryURL: String?
    /// Whether outbound requests built from user-supplied names (did:web,
    /// handles, service endpoints) may reach loopback, private and
    /// link-local addresses. Off in production.
    public var allowPrivateOutbound: Bool = false
    /// `host:port` pairs outbound requests may reach whatever they resolve
    /// to (the configured PLC directory and AppView are always allowed).
    public var outboundAllowList: [String] = []
    /// The nameserver for handle TXT lookups (`ip` or `ip:port`); defaults
    /// to the first of `/etc/resolv.conf`.
    public var handleDNSServer: String?
    /// The default AppView requests are proxied to (`https://api.bsky.app`
    /// in production); unset: proxying without an `atproto-proxy` header fails.
    public var appViewURL: String?
    /// The AppView's service DID (`did:web:api.bsky.app`).
    public var appViewDID: String?
    /// How long a proxied request may wait for the service's answer before
    /// the client gets 504 `UpstreamTimeout`.
    public var proxyTimeoutSeconds: Int = 30
    /// What an acknowledged write survives: `normal` (a crash of the
    /// process) or `full` (also a power failure; each commit group waits for
    /// a sync of the log). See ``ServiceDatabase/Durability``.
    public var durability: ServiceDatabase.Durability = .normal
    /// Timeouts and limits of every HTTP connection (see ``ConnectionConfig``).
    public var connections = ConnectionConfig()
    /// Token lifetimes of the OAuth authorization server (see ``OAuthConfig``).
    public var oauth = OAuthConfig()
    /// The SMTP server mail is handed to (see ``MailConfig``).
    public var mail = MailConfig()
    /// `describeServer`'s links: the privacy policy (`PDS_PRIVACY_POLICY_URL`),
    /// the terms of service (`PDS_TERMS_OF_SERVICE_URL`) and a contact
    /// address (`PDS_CONTACT_EMAIL_ADDRESS`).
    public var privacyPolicyURL: String?
    public var termsOfServiceURL: String?
    public var contactEmailAddress: String?
    /// Where `com.atproto.moderation.createReport` goes when the request
    /// names no service (`PDS_REPORT_SERVICE_URL` and `PDS_REPORT_SERVICE_DID`,
    /// set together; the reference installer's are `https://mod.bsky.app`
    /// and `did:plc:ar7c4by46qjdydhdevvrndac`).
    public var reportServiceURL: String?
    public var reportServiceDID: String?

    public init() {}

    /// Requests allowed per window, by kind.
    public struct RateLimitConfig: Sendable, Codable, Equatable {
        /// Repository writes per account per hour (the reference PDS allows 5,000 points/hour).
        public var writesPerHour: Int = 5_000
        /// Blob uploads per account per hour.
        public var uploadsPerHour: Int = 1_000
        /// Login attempts per IP per five minutes.
        public var loginsPerFiveMinutes: Int = 30
        /// All requests per IP per five minutes.
        public var requestsPerFiveMinutes: Int = 30_000
        public init() {}
    }

    /// The DID this service answers as.
    /// The settings of ``ConnectionGuard`` a self-hoster may need to change.
    public struct ConnectionConfig: Sendable, Codable, Equatable {
        public var headerTimeoutSeconds: Double = 10
        public var idleTimeoutSeconds: Double = 60
        public var minimumBodyBytesPerSecond: Int = 1024
        /// The window the body's pace is judged over.
        public var bodyRateWindowSeconds: Double = 10
        /// How long a connection whose answer said `Connection: close` waits
        /// for the client to close it.
        public var closeLingerSeconds: Double = 2
        /// Ignored when `trustProxy` is set: then every connection comes
        /// from the proxy, which limits its own clients.
        public var maxConnectionsPerAddress: Int = 256
        /// Unset: the process's open-file limit less 256.
        public var maxConnections: Int?
        public init() {}

        enum CodingKeys: String, CodingKey {
            case headerTimeoutSeconds, idleTimeoutSeconds, minimumBodyBytesPerSecond, bodyRateWindowSeconds, closeLingerSeconds
            case maxConnectionsPerAddress, maxConnections
        }

        public init(from decoder: any Decoder) throws {
            self.init()
            let c = try decoder.container(keyedBy: CodingKeys.self)
            headerTimeoutSeconds = try c.decodeIfPresent(Double.self, forKey: .headerTimeoutSeconds) ?? headerTimeoutSeconds
            idleTimeoutSeconds = try c.decodeIfPresent(Double.self, forKey: .idleTimeoutSeconds) ?? idleTimeoutSeconds
            minimumBodyBytesPerSecond = try c.decodeIfPresent(Int.self, forKey: .minimumBodyBytesPerSecond) ?? minimumBodyBytesPerSecond
            bodyRateWindowSeconds = try c.decodeIfPresent(Double.self, forKey: .bodyRateWindowSeconds) ?? bodyRateWindowSeconds
            closeLingerSeconds = try c.decodeIfPresent(Double.self, forKey: .closeLingerSeconds) ?? closeLingerSeconds
            maxConnectionsPerAddress = try c.decodeIfPresent(Int.self, forKey: .maxConnectionsPerAddress) ?? maxConnectionsPerAddress
            maxConnections = try c.decodeIfPresent(Int.self, forKey: .maxConnections)
        }

        /// Throws for a value that would refuse or cut off every connection
        /// (or spin a timer).
        public func validate() throws {
            let positive: [(String, Double)] = [
                ("connections.headerTimeoutSeconds", headerTimeoutSeconds), ("connections.idleTimeoutSeconds", idleTimeoutSeconds),
                ("connections.bodyRateWindowSeconds", bodyRateWindowSeconds), ("connections.closeLingerSeconds", closeLingerSeconds),
                ("connections.maxConnectionsPerAddress", Double(maxConnectionsPerAddress)),
                ("connections.maxConnections", Double(maxConnections ?? 1)),
            ]
            for (name, value) in positive where !(value > 0) { throw ConfigError.invalid(name, String(value)) }
            guard minimumBodyBytesPerSecond >= 0 else {
                throw ConfigError.invalid("connections.minimumBodyBytesPerSecond", String(minimumBodyBytesPerSecond))
            }
        }

        /// The guard's limits, given whether a trusted proxy is in front.
        public func limits(trustProxy: Bool) -> ConnectionLimits {
            var limits = ConnectionLimits()
            limits.headerTimeout = .nanoseconds(Int64(headerTimeoutSeconds * 1e9))
            limits.idleTimeout = .nanoseconds(Int64(idleTimeoutSeconds * 1e9))
            limits.minimumBodyBytesPerSecond = minimumBodyBytesPerSecond
            limits.bodyRateWindow = .nanoseconds(Int64(bodyRateWindowSeconds * 1e9))
            limits.closeLinger = .nanoseconds(Int64(closeLingerSeconds * 1e9))
            limits.maxConnectionsPerAddress = trustProxy ? nil : maxConnectionsPerAddress
            limits.maxConnections = maxConnections
            return limits
        }
    }

    public var resolvedServiceDID: String { serviceDID ?? "did:web:\(hostname)" }

    /// The PLC directory's base URL without a trailing slash, or nil when
    /// there is none (see ``plcDirectoryURL``).
    public var resolvedPLCDirectoryURL: String? {
        guard let configured = plcDirectoryURL else {
            let local = ["localhost", "127.0.0.1", "::1"].contains(hostname.lowercased()) || hostname.hasSuffix(".localhost")
            return local ? nil : "https://plc.directory"
        }
        var url = configured.trimmingCharacters(in: .whitespaces)
        guard !url.isEmpty else { return nil }
        while url.hasSuffix("/") { url.removeLast() }
        return url
    }

    /// The URL clients use.
    public var resolvedPublicURL: String {
        if let publicURL { return publicURL }
        if hostname == "localhost" || hostname.hasPrefix("127.") { return "http://\(hostname):\(port)" }
        return "https://\(hostname)"
    }

    /// Reads the config file (if given) and then the environment.
    public static func load(file: String?, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> PDSConfig {
        var config = PDSConfig()
        if let file {
            let data = try Data(contentsOf: URL(fileURLWithPath: file))
            config = try JSONDecoder().decode(PDSConfig.self, from: data)
        }
        try config.apply(environment: environment)
        return config
    }

    /// Overrides settings from `PDS_*` variables.
    public mutating func apply(environment env: [String: String]) throws {
        func int(_ name: String) throws -> Int? {
            guard let value = env[name] else { return nil }
            guard let n = Int(value) else { throw ConfigError.invalid(name, value) }
            return n
        }
        if let v = env["PDS_HOSTNAME"] { hostname = v }
        if let v = env["PDS_BIND_ADDRESS"] { bindAddress = v }
        if let v = try int("PDS_PORT") { port = v }
        if let v = env["PDS_PUBLIC_URL"] { publicURL = v }
        if let v = env["PDS_DATA_DIRECTORY"] { dataDirectory = v }
        if let v = env["PDS_SERVICE_DID"] { serviceDID = try Self.checkedDID(v, "PDS_SERVICE_DID") }
        if let v = env["PDS_ADMIN_PASSWORD"] { adminPassword = v }
        if let v = try int("PDS_BLOB_UPLOAD_LIMIT") { blobUploadLimit = v }
        if let v = try int("PDS_BLOB_QUOTA") { blobQuotaPerAccount = v }
        if let v = try int("PDS_BLOB_GRACE_PERIOD") { blobGracePeriod = v }
        if let v = try int("PDS_REPO_IMPORT_LIMIT") { repoImportLimit = v }
        if let v = env["PDS_SIGNING_KEY_TYPE"] {
            guard let type = KeyType(rawValue: v), type != .ed25519 || env["PDS_ALLOW_ED25519"] == "true" else {
                throw ConfigError.invalid("PDS_SIGNING_KEY_TYPE", v)
            }
            signingKeyType = type
        }
        if let v = env["PDS_INVITE_REQUIRED"] { inviteRequired = (v == "true" || v == "1") }
        if let v = env["PDS_SERVICE_HANDLE_DOMAINS"] {
            availableUserDomains = v.split(separator: ",").map { $0.hasPrefix(".") ? String($0) : "." + $0 }
        }
        if let v = try int("PDS_MAX_REQUEST_BODY") { maxRequestBody = v }
        if let v = env["PDS_TRUST_PROXY"] { trustProxy = (v == "true" || v == "1") }
        if let v = env["PDS_CRAWLERS"] { crawlers = v.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }
        if let v = try int("PDS_CRAWL_INTERVAL") { crawlInterval = v }
        if let v = try int("PDS_SEQUENCER_RETENTION") { sequencerRetention = TimeInterval(v) }
        if let v = try int("PDS_SEQUENCER_MAX_EVENTS") { sequencerMaxEvents = v }
        if let v = try int("PDS_SUBSCRIBER_BUFFER") { subscriberBufferSize = v }
        if let v = try int("PDS_FIREHOSE_FLUSH_MS") { firehoseFlushMilliseconds = v }
        if let v = try int("PDS_RECORD_CACHE_MB") {
            guard v >= 0 else { throw ConfigError.invalid("PDS_RECORD_CACHE_MB", String(v)) }
            recordCacheMegabytes = v
        }
        if let v = try int("PDS_WEBSOCKET_PING_INTERVAL") { websocketPingInterval = v }
        if let v = env["PDS_PLC_DIRECTORY_URL"] { plcDirectoryURL = v }
        if let v = env["PDS_ALLOW_PRIVATE_OUTBOUND"] { allowPrivateOutbound = (v == "true" || v == "1") }
        if let v = env["PDS_OUTBOUND_ALLOW"] {
            outboundAllowList = v.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        }
        if let v = env["PDS_HANDLE_DNS_SERVER"] { handleDNSServer = v }
        if let v = env["PDS_BSKY_APP_VIEW_URL"] { appViewURL = v }
        if let v = env["PDS_BSKY_APP_VIEW_DID"] { appViewDID = try Self.checkedDID(v, "PDS_BSKY_APP_VIEW_DID") }
        if let v = try int("PDS_PROXY_TIMEOUT_SECONDS") { proxyTimeoutSeconds = v }
        if let v = try int("PDS_MAX_CONNECTIONS_PER_ADDRESS") { connections.maxConnectionsPerAddress = v }
        if let v = try int("PDS_MAX_CONNECTIONS") { connections.maxConnections = v }
        if let v = try int("PDS_HEADER_TIMEOUT_SECONDS") { connections.headerTimeoutSeconds = Double(v) }
        if let v = try int("PDS_IDLE_TIMEOUT_SECONDS") { connections.idleTimeoutSeconds = Double(v) }
        try connections.validate()
        try oauth.apply(environment: env)
        try mail.apply(environment: env)
        if let v = env["PDS_PRIVACY_POLICY_URL"] { privacyPolicyURL = v }
        if let v = env["PDS_TERMS_OF_SERVICE_URL"] { termsOfServiceURL = v }
        if let v = env["PDS_CONTACT_EMAIL_ADDRESS"] { contactEmailAddress = v }
        if let v = env["PDS_REPORT_SERVICE_URL"] { reportServiceURL = v }
        if let v = env["PDS_REPORT_SERVICE_DID"] { reportServiceDID = try Self.checkedDID(v, "PDS_REPORT_SERVICE_DID") }
        try checkReportService()
        if let v = env["PDS_DURABILITY"] {
            guard let parsed = ServiceDatabase.Durability(rawValue: v) else { throw ConfigError.invalid("PDS_DURABILITY", v) }
            durability = parsed
        }
        // For load tests on loopback only: no per-account or per-IP limits.
        if env["PDS_RATE_LIMITS_OFF"] == "true" {
            rateLimits.writesPerHour = .max / 2
            rateLimits.uploadsPerHour = .max / 2
            rateLimits.loginsPerFiveMinutes = .max / 2
            rateLimits.requestsPerFiveMinutes = .max / 2
        }
    }

    /// The report service needs both its URL and its DID (the DID is the
    /// audience of the service token, the URL where the report goes).
    func checkReportService() throws {
        if (reportServiceURL == nil) != (reportServiceDID == nil) {
            throw ConfigError.invalid("reportServiceURL and reportServiceDID", "only one of them set; set both or neither")
        }
    }

    /// `value` when it is a DID (the service's own, the AppView's): a typo
    /// is refused at start, not found later as tokens nobody accepts.
    static func checkedDID(_ value: String, _ name: String) throws -> String {
        guard DID.isValid(value) else { throw ConfigError.invalid(name, value) }
        return value
    }

    /// A setting that could not be used.
    public enum ConfigError: Error, CustomStringConvertible {
        case invalid(String, String)
        public var description: String {
            switch self {
            case .invalid(let name, let value): return "invalid value '\(value)' for \(name)"
            }
        }
    }
}

/// Reading a config file: every key is optional, and an absent one keeps its
/// default (synthesized decoding would demand every key).
extension PDSConfig {
    enum CodingKeys: String, CodingKey {
        case hostname, bindAddress, port, publicURL, dataDirectory, serviceDID, adminPassword, blobUploadLimit
        case blobQuotaPerAccount, blobGracePeriod, repoImportLimit, signingKeyType, inviteRequired
        case availableUserDomains, maxRequestBody, trustProxy, rateLimits, sequencerRetention, sequencerMaxEvents
        case subscriberBufferSize, firehoseFlushMilliseconds, websocketPingInterval, crawlers, crawlInterval
        case plcDirectoryURL, allowPrivateOutbound, outboundAllowList, handleDNSServer, appViewURL, appViewDID
        case proxyTimeoutSeconds, recordCacheMegabytes, durability, connections, oauth, mail
        case privacyPolicyURL, termsOfServiceURL, contactEmailAddress, reportServiceURL, reportServiceDID
    }

    public init(from decoder: any Decoder) throws {
        self.init()
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func read<T: Decodable>(_ key: CodingKeys, _ value: inout T) throws {
            if let decoded = try c.decodeIfPresent(T.self, forKey: key) { value = decoded }
        }
        try read(.hostname, &hostname)
        try read(.bindAddress, &bindAddress)
        try read(.port, &port)
        publicURL = try c.decodeIfPresent(String.self, forKey: .publicURL) ?? publicURL
        try read(.dataDirectory, &dataDirectory)
        serviceDID = try c.decodeIfPresent(String.self, forKey: .serviceDID).map { try Self.checkedDID($0, "serviceDID") } ?? serviceDID
        adminPassword = try c.decodeIfPresent(String.self, forKey: .adminPassword) ?? adminPassword
        try read(.blobUploadLimit, &blobUploadLimit)
        try read(.blobQuotaPerAccount, &blobQuotaPerAccount)
        try read(.blobGracePeriod, &blobGracePeriod)
        try read(.repoImportLimit, &repoImportLimit)
        try read(.signingKeyType, &signingKeyType)
        try read(.inviteRequired, &inviteRequired)
        try read(.availableUserDomains, &availableUserDomains)
        try read(.maxRequestBody, &maxRequestBody)
        try read(.trustProxy, &trustProxy)
        try read(.rateLimits, &rateLimits)
        try read(.sequencerRetention, &sequencerRetention)
        try read(.sequencerMaxEvents, &sequencerMaxEvents)
        try read(.subscriberBufferSize, &subscriberBufferSize)
        try read(.firehoseFlushMilliseconds, &firehoseFlushMilliseconds)
        try read(.websocketPingInterval, &websocketPingInterval)
        try read(.crawlers, &crawlers)
        try read(.crawlInterval, &crawlInterval)
        if c.contains(.plcDirectoryURL) { plcDirectoryURL = try c.decodeIfPresent(String.self, forKey: .plcDirectoryURL) }
        try read(.allowPrivateOutbound, &allowPrivateOutbound)
        try read(.outboundAllowList, &outboundAllowList)
        handleDNSServer = try c.decodeIfPresent(String.self, forKey: .handleDNSServer) ?? handleDNSServer
        appViewURL = try c.decodeIfPresent(String.self, forKey: .appViewURL) ?? appViewURL
        appViewDID = try c.decodeIfPresent(String.self, forKey: .appViewDID).map { try Self.checkedDID($0, "appViewDID") } ?? appViewDID
        try read(.proxyTimeoutSeconds, &proxyTimeoutSeconds)
        try read(.recordCacheMegabytes, &recordCacheMegabytes)
        try read(.durability, &durability)
        try read(.connections, &connections)
        try read(.oauth, &oauth)
        try read(.mail, &mail)
        privacyPolicyURL = try c.decodeIfPresent(String.self, forKey: .privacyPolicyURL)
        termsOfServiceURL = try c.decodeIfPresent(String.self, forKey: .termsOfServiceURL)
        contactEmailAddress = try c.decodeIfPresent(String.self, forKey: .contactEmailAddress)
        reportServiceURL = try c.decodeIfPresent(String.self, forKey: .reportServiceURL)
        reportServiceDID = try c.decodeIfPresent(String.self, forKey: .reportServiceDID).map { try Self.checkedDID($0, "reportServiceDID") }
        try checkReportService()
        guard recordCacheMegabytes >= 0 else {
            throw ConfigError.invalid("recordCacheMegabytes", String(recordCacheMegabytes))
        }
        try connections.validate()
    }
}

extension PDSConfig.RateLimitConfig {
    enum CodingKeys: String, CodingKey {
        case writesPerHour, uploadsPerHour, loginsPerFiveMinutes, requestsPerFiveMinutes
    }

    public init(from decoder: any Decoder) throws {
        self.init()
        let c = try decoder.container(keyedBy: CodingKeys.self)
        writesPerHour = try c.decodeIfPresent(Int.self, forKey: .writesPerHour) ?? writesPerHour
        uploadsPerHour = try c.decodeIfPresent(Int.self, forKey: .uploadsPerHour) ?? uploadsPerHour
        loginsPerFiveMinutes = try c.decodeIfPresent(Int.self, forKey: .loginsPerFiveMinutes) ?? loginsPerFiveMinutes
        requestsPerFiveMinutes = try c.decodeIfPresent(Int.self, forKey: .requestsPerFiveMinutes) ?? requestsPerFiveMinutes
    }
}
