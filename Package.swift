// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "swift-pds",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "pds", targets: ["PDSCommand"]),
        .library(name: "ATProto", targets: ["ATProto"]),
        .library(name: "ATCrypto", targets: ["ATCrypto"]),
        .library(name: "CAR", targets: ["CAR"]),
        .library(name: "MST", targets: ["MST"]),
        .library(name: "Repo", targets: ["Repo"]),
        .library(name: "Identity", targets: ["Identity"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket", from: "2.8.1"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.1"),
    ],
    targets: [
        .target(
            name: "ATProto",
            dependencies: [.product(name: "Crypto", package: "swift-crypto")]
        ),
        .systemLibrary(
            name: "CSecp256k1",
            pkgConfig: "libsecp256k1",
            providers: [.apt(["libsecp256k1-dev"])]
        ),
        .target(
            name: "ATCrypto",
            dependencies: [
                "ATProto",
                "CSecp256k1",
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        // DID and handle resolution with a cache and an outbound address
        // guard (shared by the PDS and the feed generator).
        .target(
            name: "Identity",
            dependencies: [
                "ATProto", "ATCrypto",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .systemLibrary(name: "CSodium", pkgConfig: "libsodium", providers: [.apt(["libsodium-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),
        // zstd with a dictionary, and Jetstream v1's dictionary: the
        // optional compression of Jetstream's `/subscribe` (both ends).
        .target(
            name: "JetstreamCompression",
            dependencies: ["CZstd"],
            exclude: ["LICENSE-upstream.txt", "LICENSE-MIT-upstream.txt", "LICENSE-APACHE-upstream.txt"],
            resources: [.copy("jetstream-v1.zdict")]
        ),
        .target(
            name: "PDS",
            dependencies: [
                "ATProto", "ATCrypto", "MST", "CAR", "Repo", "Sequencer", "ServiceStorage", "Migrations", "LexiconFiles", "CSodium", "OAuth", "Mail",
                "CZlib", "Identity",
                "JetstreamCompression", "ConnectionGuard",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Mustache", package: "swift-mustache"),
            ],
            // The messages' templates (a self-hoster's copies in the data
            // directory replace them).
            resources: [.copy("Mail/templates")]
        ),
        // An SMTP client (STARTTLS, AUTH, dot-stuffing) and MIME messages,
        // without a queue; the PDS's outbox drives it.
        .target(
            name: "Mail",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        .executableTarget(
            name: "PDSCommand",
            dependencies: [
                "ATProto",
                "ATCrypto",
                "MST",
                "CAR",
                "Repo",
                "PDS",
                "Sequencer",
                "ServiceStorage",
                "FeedGen",
                "Atrarium",
                "JetstreamCompression",
                "OAuth",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        // Timeouts and limits on every HTTP connection, wrapped around
        // Hummingbird's child channels (both servers use it).
        .target(
            name: "ConnectionGuard",
            dependencies: [
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(name: "CAR", dependencies: ["ATProto"]),
        // The atproto OAuth profile's checks (DPoP, PKCE, client metadata,
        // scopes), without storage or HTTP; the PDS serves them.
        .target(name: "OAuth", dependencies: ["ATProto", .product(name: "Crypto", package: "swift-crypto")]),
        // The durable event log of repository and account changes and its
        // subscribeRepos frames.
        .target(
            name: "Sequencer",
            dependencies: [
                "ATProto", "Repo", "CAR", "ServiceStorage", "JetstreamCompression", .product(name: "GRDB", package: "GRDB.swift"),
            ]
        ),
        .target(name: "MST", dependencies: ["ATProto"]),
        // The Lexicon JSON documents, embedded as resources.
        .target(name: "LexiconFiles", path: "lexicons", exclude: ["README.md", "LICENSE-upstream.txt", "LICENSE-MIT-upstream.txt", "LICENSE-APACHE-upstream.txt"], resources: [.copy("com"), .copy("app"), .copy("net")]),
        // The numbered SQL files of the schema, embedded as resources.
        .target(name: "Migrations", path: "migrations", resources: [.copy("sql"), .copy("feedgen")]),
        // The Atrarium community feed generator: ingest (local sequencer,
        // Jetstream), filter, durable queue, community index, feed API.
        .target(
            name: "FeedGen",
            dependencies: [
                "ATProto", "ATCrypto", "CAR", "Sequencer", "ServiceStorage", "Migrations", "LexiconFiles",
                "JetstreamCompression", "ConnectionGuard",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Plugs the feed generator into `pds serve` (a PDSExtension).
        .target(
            name: "Atrarium",
            dependencies: [
                "FeedGen", "PDS", "ATProto", "ATCrypto", "Sequencer", "Identity", "OAuth",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Mustache", package: "swift-mustache"),
            ],
            // The dashboard API's OpenAPI document, served at /api/openapi.json;
            // the pages' templates, stylesheet and script.
            resources: [
                .copy("Dashboard/openapi.json"), .copy("Dashboard/Pages/templates"), .copy("Dashboard/Pages/assets"),
            ]
        ),
        // How SQLite does its work here: a transaction's write-ahead-log
        // writes in one system call (a VFS over the default one), and no
        // page cache scans at commits with nothing to drop.
        .target(name: "CSQLiteTuning", linkerSettings: [.linkedLibrary("sqlite3")]),
        // Opening the SQLite databases of this project: migrations, tuning,
        // durability and the write-ahead-log checkpointer (every store sits
        // on it; it knows no table).
        .target(
            name: "ServiceStorage",
            dependencies: ["ATProto", "Migrations", "CSQLiteTuning", .product(name: "GRDB", package: "GRDB.swift")]
        ),
        // The repository's own tables (blocks, commits, record index) and
        // the repository built on them.
        .target(
            name: "Repo",
            dependencies: [
                "ATProto", "ATCrypto", "MST", "CAR", "ServiceStorage",
                .product(name: "GRDB", package: "GRDB.swift"),
            ]
        ),
        // Shared by the test targets: the interop vectors' loader.
        .target(name: "CChildProcess", path: "Tests/CChildProcess"),
        .target(name: "TestSupport", dependencies: ["CChildProcess"], path: "Tests/TestSupport"),
        .testTarget(name: "ATProtoTests", dependencies: ["ATProto", "LexiconFiles", "TestSupport"]),
        .testTarget(name: "ATCryptoTests", dependencies: ["ATCrypto", "ATProto", "TestSupport"]),
        .testTarget(name: "CARTests", dependencies: ["CAR", "ATProto", "TestSupport"]),
        .testTarget(
            name: "MailTests",
            dependencies: [
                "Mail", .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]),
        .testTarget(name: "OAuthTests", dependencies: ["OAuth", "ATProto", .product(name: "Crypto", package: "swift-crypto")]),
        .testTarget(name: "MSTTests", dependencies: ["MST", "CAR", "ATProto", "TestSupport"]),
        // A real server on a loopback port and a client to drive it, for
        // the test targets that test the whole server (PDSTests, AtrariumTests).
        .target(
            name: "PDSTestSupport",
            dependencies: [
                "PDS", "ATProto", "ATCrypto", "Atrarium", "FeedGen", "Sequencer", "ServiceStorage", "TestSupport",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
            ],
            path: "Tests/PDSTestSupport"
        ),
        .testTarget(
            name: "PDSTests",
            dependencies: [
                "PDS", "PDSTestSupport", "Repo", "ServiceStorage", "MST", "CAR", "ATCrypto", "ATProto", "Sequencer", "Identity", "OAuth",
                "TestSupport", "CZlib", "FeedGen", "JetstreamCompression", "Atrarium",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ]
        ),
        // The feed generator inside the server and the dashboard API, end to end.
        .testTarget(
            name: "AtrariumTests",
            dependencies: [
                "Atrarium", "PDS", "PDSTestSupport", "FeedGen", "ATProto", "ATCrypto", "Sequencer", "TestSupport",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The event log and its live fan-out, without a server.
        .testTarget(
            name: "SequencerTests",
            dependencies: [
                "Sequencer", "Repo", "ServiceStorage", "ATProto", .product(name: "GRDB", package: "GRDB.swift"),
            ]
        ),
        .testTarget(
            name: "FeedGenTests",
            dependencies: [
                "FeedGen", "ATProto", "ATCrypto", "Sequencer", "ServiceStorage", "JetstreamCompression",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
            ]
        ),
        .testTarget(
            name: "IdentityTests",
            dependencies: ["Identity", "ATCrypto", "ATProto", "TestSupport", .product(name: "Hummingbird", package: "hummingbird")]
        ),
        .testTarget(name: "JetstreamCompressionTests", dependencies: ["JetstreamCompression", "CZstd"]),
        .testTarget(name: "RepoTests", dependencies: ["Repo", "ServiceStorage", "MST", "CAR", "ATCrypto", "ATProto", "TestSupport"]),
        .testTarget(name: "ServiceStorageTests", dependencies: ["ServiceStorage", "ATProto", .product(name: "GRDB", package: "GRDB.swift")]),
    ]
)

// The libFuzzer targets (Fuzz/, built and run by scripts/fuzz): declared only
// when PDS_FUZZ is set, since the driver links libFuzzer's loop in place of a
// main and every module is built with -sanitize=fuzzer,address for it.
if Context.environment["PDS_FUZZ"] != nil {
    package.targets.append(
        .executableTarget(
            name: "pds-fuzz",
            dependencies: ["ATProto", "ATCrypto", "CAR", "Repo", "ServiceStorage", "LexiconFiles", "FeedGen", "JetstreamCompression", "PDS", "Atrarium", "Sequencer"],
            path: "Fuzz/PDSFuzz"))
}
