import ATProto
import ConnectionGuard
import Foundation
import LexiconFiles
import Logging
import MST
import Repo
import Sequencer
import ServiceStorage

/// Everything handlers share: configuration, the database and the stores
/// over it, the service keys, and the concurrency guards.
public final class PDSServices: Sendable {
    public let config: PDSConfig
    /// Transactions on the service database, through which handlers and
    /// services use the stores (its connections are for the stores and the
    /// storage plumbing only).
    public let storage: StoreDatabase
    public let accounts: AccountStore
    /// Sign-in sessions and their refresh tokens.
    public let sessions: SessionStore
    public let repos: RepoStorage
    public let secrets: ServiceSecrets
    public let tokens: SessionTokens
    /// Blob bytes, by CID (`<dataDirectory>/blobs`).
    public let blobStore: any BlobStore
    /// Serializes storing and collecting each blob, by CID.
    public let blobLock = KeyedLock<CID>()
    /// Serializes the work on one repository that is not a commit (import,
    /// identity changes, deletion); commits are serialized by ``commits``.
    public let writeLock = KeyedLock<DID>()
    /// Copies the database's log into its file beside the writer.
    let checkpointer: WALCheckpointer
    /// Builds and stores repository commits on the writer connection.
    let commits: CommitQueue<CommitResult>
    /// The MST nodes recent commits read and wrote, for the next commits
    /// to the same repositories.
    let commitNodes = MSTNodeCache(maxBytes: PDSServices.commitNodeCacheBytes)
    /// The latest commit built for each repository, which the next one
    /// is built on (see ``RepoCommits``).
    let commitTips = CommitTips()
    /// The memory ``commitNodes`` may hold (about 6,000 paths of a deep
    /// repository).
    static let commitNodeCacheBytes = 32 << 20
    /// Serializes PLC directory submissions per DID.
    public let plcLock = KeyedLock<DID>()
    public let rateLimiter = RateLimiter()
    /// Failed and successful sign-ins, and the rules they are judged by.
    public let loginAttempts: LoginAttemptStore
    public let loginThrottle = LoginThrottle()
    /// Serializes sign-in attempts per subject (see `createSession`).
    let loginLock = KeyedLock<String>()
    /// The timeouts and limits of every HTTP connection, and their counts.
    public let connectionGuard: ConnectionGuard
    /// The figures of `/metrics`.
    public let metrics: ServerMetrics
    /// Bytes handed to `subscribeRepos` consumers' sockets.
    let firehoseBytesSent = SharedCounter()
    /// Argon2id verifications `createSession` has made (stand-ins included).
    let passwordVerifications = SharedCounter()
    /// Admin password checks, throttled per client address.
    public let adminAuth = AdminAuthGuard()
    /// Tells the relay crawl notifier that repositories changed.
    public let crawlActivity: CrawlActivity
    public let tids = TIDGenerator()
    /// The Lexicon schemas records are validated against.
    public let lexicons: LexiconCatalog
    /// Further rules for some collections, added by extensions.
    public let recordChecks = RecordChecks()
    public let logger: Logger
    /// Live fan-out of the event log (`subscribeRepos`); notify it after a
    /// transaction that appended events commits.
    public let sequencer: SequencerHub
    /// The live `subscribeRepos` consumers, fed by ``sequencer``.
    public let firehose: FirehoseFanout
    public let passwordStrength: PasswordHasher.Strength
    /// DID and handle resolution and guarded outbound HTTP.
    public let identity: IdentityServices
    /// Answers of `com.atproto.repo.getRecord`, dropped per account when it
    /// changes.
    public let recordCache: RecordReadCache
    /// Recent answers of the per-request session check, dropped when an
    /// account, a session or an OAuth grant changes (OAuth grants are
    /// checked through it too, by grant ID).
    let sessionChecks = SessionCheckCache()
    /// The OAuth authorization server: its keys, stores and checks.
    public let oauth: OAuthServices
    /// The server's mail: templates, the outbox and the SMTP client.
    public let mailer: Mailer
    /// This server as an OAuth client (the dashboard's sign-ins and sessions).
    public let oauthClients: OAuthClientStore

    /// Opens (creating on first start) the data directory, its database and
    /// its keys.
    public init(config: PDSConfig, passwordStrength: PasswordHasher.Strength = .interactive, logger: Logger? = nil) throws {
        self.config = config
        self.passwordStrength = passwordStrength
        self.logger = logger ?? Logger(label: "pds")
        let metrics = ServerMetrics()
        self.metrics = metrics
        try DataDirectoryPermissions.secure(config.dataDirectory, logger: self.logger)
        connectionGuard = ConnectionGuard(limits: config.connections.limits(trustProxy: config.trustProxy), logger: self.logger)
        lexicons = try LexiconCatalog(jsonDocuments: LexiconFiles.all())
        let databasePath = config.dataDirectory + "/pds.sqlite"
        let pool = try ServiceDatabase.open(
            path: databasePath, writerCheckpointPages: WALCheckpointer.writerPages, durability: config.durability)
        let checkpointer = try WALCheckpointer(path: databasePath)
        self.checkpointer = checkpointer
        storage = StoreDatabase(pool: pool)
        accounts = AccountStore(pool: pool)
        sessions = SessionStore(pool: pool)
        loginAttempts = LoginAttemptStore(pool: pool)
        repos = RepoStorage(pool: pool)
        firehose = FirehoseFanout(flushInterval: .milliseconds(config.firehoseFlushMilliseconds))
        recordCache = RecordReadCache(capacity: config.recordCacheMegabytes << 20)
        // Changes made here reach the cache as their transaction commits;
        // the hub reports those of other processes (the CLI) as it reads them.
        storage.observeChanges(recordCache: recordCache, sessionChecks: sessionChecks)
        let sequencer = try SequencerHub(reader: pool, sinks: [firehose, recordCache])
        self.sequencer = sequencer
        let crawlActivity = CrawlActivity()
        self.crawlActivity = crawlActivity
        commits = CommitQueue(
            pool: pool,
            onStored: {
                checkpointer.noteWrite()
                sequencer.notify()
                crawlActivity.noteWrite()
            },
            betweenGroups: { db in checkpointer.restartLogIfDue(writer: db) },
            onGroup: { size in metrics.recordCommitGroup(size: size) })
        secrets = try ServiceSecrets.loadOrCreate(in: config.dataDirectory)
        tokens = SessionTokens(key: secrets.sessionKey, serviceDID: config.resolvedServiceDID)
        identity = IdentityServices(config: config)
        oauth = try OAuthServices(
            config: config, requests: OAuthRequestStore(pool: pool), grants: OAuthGrantStore(pool: pool),
            devices: OAuthDeviceStore(pool: pool), identity: identity)
        mailer = try Mailer(config: config, logger: self.logger)
        oauthClients = OAuthClientStore(pool: pool)
        blobStore = try FileBlobStore(root: URL(fileURLWithPath: config.dataDirectory).appendingPathComponent("blobs"))
    }
}
