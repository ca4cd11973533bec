// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "swift-pds",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "pds", targets: ["PDSCommand"]),
        .library(name: "ATProto", targets: ["ATProto"]),
        .library(name: "ATCrypto", targets: ["ATCrypto"]),
        .library(name: "CAR", targets: ["CAR"]),
        .library(name: "MST", targets: ["MST"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
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
        .executableTarget(
            name: "PDSCommand",
            dependencies: [
                "ATProto",
                "ATCrypto",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .target(name: "CAR", dependencies: ["ATProto"]),
        .target(name: "MST", dependencies: ["ATProto"]),
        .testTarget(name: "ATProtoTests", dependencies: ["ATProto"]),
        .testTarget(name: "ATCryptoTests", dependencies: ["ATCrypto", "ATProto"]),
        .testTarget(name: "CARTests", dependencies: ["CAR", "ATProto"]),
        .testTarget(name: "MSTTests", dependencies: ["MST", "CAR", "ATProto"]),
    ]
)
