// swift-tools-version:6.1
import PackageDescription

/// Every target builds in Swift 6 language mode with the upcoming features the
/// Hummingbird project itself uses, so `any` and import visibility stay explicit.
let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "healthcloud-bff",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "healthcloud", targets: ["healthcloud"]),
        .library(name: "HealthCloudDomain", targets: ["HealthCloudDomain"]),
        .library(name: "HealthCloudStorage", targets: ["HealthCloudStorage"]),
        .library(name: "HealthCloudApp", targets: ["HealthCloudApp"]),
        .library(name: "HealthCloudSync", targets: ["HealthCloudSync"]),
        .library(name: "HealthCloudSyncClient", targets: ["HealthCloudSyncClient"]),
        .executable(name: "healthcloud-sync-sim", targets: ["healthcloud-sync-sim"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket.git", from: "2.8.1"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/swiftcsv/SwiftCSV.git", from: "0.10.0"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
    ],
    targets: [
        /// The Debian libsqlite3 (never a vendored amalgamation).
        .systemLibrary(
            name: "CSQLite",
            pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"])]
        ),
        /// Rules and reference types of the product. No I/O.
        .target(
            name: "HealthCloudDomain",
            swiftSettings: swiftSettings
        ),
        /// The Debian Jansson, the JSON parser of request bodies: one linear pass, byte-exact
        /// object keys, duplicate keys refused (Foundation's decoder is cubic in the depth of
        /// free-form values and merges canonically equivalent keys).
        .systemLibrary(
            name: "CJansson",
            pkgConfig: "jansson",
            providers: [.apt(["libjansson-dev"])]
        ),
        /// The Debian zlib, for gzip of cached response bodies.
        .systemLibrary(
            name: "CZlib",
            pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]
        ),
        /// The Debian libqrencode, for the QR codes of visit passes.
        .systemLibrary(
            name: "CQREncode",
            pkgConfig: "libqrencode",
            providers: [.apt(["libqrencode-dev"])]
        ),
        /// The Debian libpng (its simplified write API), for QR codes as PNG images.
        .systemLibrary(
            name: "CPNG",
            pkgConfig: "libpng",
            providers: [.apt(["libpng-dev"])]
        ),
        /// Schema, migrations and repositories that run unchanged on SQLite and PostgreSQL.
        .target(
            name: "HealthCloudStorage",
            dependencies: [
                "HealthCloudDomain",
                "HealthCloudCrypto",
                "CSQLite",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        /// The sync protocol's wire types, canonical JSON and page digest, shared by the server
        /// and the client library (SyncProtocol/SPEC.md).
        .target(
            name: "HealthCloudSync",
            dependencies: ["HealthCloudDomain", "HealthCloudCrypto"],
            swiftSettings: swiftSettings
        ),
        /// The Swift client library: a device's SQLite store, outbox and sync engine (URLSession;
        /// on Linux FoundationNetworking over libcurl). Usable by an iOS app.
        .target(
            name: "HealthCloudSyncClient",
            dependencies: ["HealthCloudSync", "HealthCloudDomain", "HealthCloudCrypto", "CSQLite"],
            swiftSettings: swiftSettings
        ),
        /// `tools/sync-sim`: many simulated devices against a live server.
        .executableTarget(
            name: "healthcloud-sync-sim",
            dependencies: ["HealthCloudSyncClient", "HealthCloudDomain"],
            swiftSettings: swiftSettings
        ),
        /// Demo data: reference data of Shanghai and generated institutions, as a pipeline of steps.
        .target(
            name: "HealthCloudDemo",
            dependencies: [
                "HealthCloudDomain",
                "HealthCloudCrypto",
                "HealthCloudStorage",
                .product(name: "SwiftCSV", package: "SwiftCSV"),
            ],
            resources: [.copy("Resources")],
            swiftSettings: swiftSettings
        ),
        /// The HTTP application: one composition root, one folder per feature.
        .target(
            name: "HealthCloudApp",
            dependencies: [
                "HealthCloudDomain",
                "HealthCloudCrypto",
                "HealthCloudStorage",
                "HealthCloudSync",
                "CZlib",
                "CJansson",
                "CQREncode",
                "CPNG",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            resources: [.copy("Cockpit/Resources")],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "healthcloud",
            dependencies: [
                "HealthCloudApp",
                "HealthCloudCrypto",
                "HealthCloudDemo",
                "HealthCloudDomain",
                "HealthCloudStorage",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        /// Fresh databases on both engines for every test target.
        .target(
            name: "HealthCloudTestSupport",
            dependencies: ["HealthCloudStorage", "HealthCloudCrypto", .product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings
        ),
        /// Micro-benchmarks of the GM primitives (tools/bench/identity runs it in release).
        .executableTarget(
            name: "healthcloud-bench",
            dependencies: ["HealthCloudCrypto"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "HealthCloudSyncTests",
            dependencies: ["HealthCloudSync", "HealthCloudDomain", "HealthCloudCrypto"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "HealthCloudDomainTests",
            dependencies: ["HealthCloudDomain"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "HealthCloudStorageTests",
            dependencies: ["HealthCloudStorage", "HealthCloudCrypto", "HealthCloudDomain", "HealthCloudDemo", "HealthCloudTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "HealthCloudAppTests",
            dependencies: [
                "HealthCloudApp",
                "HealthCloudCrypto",
                "HealthCloudDemo",
                "HealthCloudDomain",
                "HealthCloudStorage",
                "HealthCloudSync",
                "HealthCloudSyncClient",
                "HealthCloudTestSupport",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HummingbirdWSTesting", package: "hummingbird-websocket"),
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ],
            swiftSettings: swiftSettings
        ),
        /// The system OpenSSL 3.0 libcrypto: the only implementation of SM2/SM3/SM4 we use.
        .systemLibrary(
            name: "COpenSSL",
            pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"])]
        ),
        /// GM (Chinese commercial cryptography): SM3, HMAC, SM4 field encryption, SM2 signatures, PBKDF2.
        .target(
            name: "HealthCloudCrypto",
            dependencies: ["COpenSSL"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "HealthCloudCryptoTests",
            dependencies: ["HealthCloudCrypto"],
            swiftSettings: swiftSettings
        ),
    ]
)
