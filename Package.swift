// swift-tools-version:6.1
import Foundation
import PackageDescription

/// `HELFERRUF_TSAN=1` (set by `scripts/sanitize thread`) swaps the state locks for ones that
/// ThreadSanitizer can see (Sources/HelferrufSync/StateLock.swift).
let lockSettings: [SwiftSetting] = ProcessInfo.processInfo.environment["HELFERRUF_TSAN"] == nil ? [] : [.define("HELFERRUF_TSAN")]

let package = Package(
    name: "helferruf",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "helferruf", targets: ["helferruf"]),
        .library(name: "HelferrufCore", targets: ["HelferrufCore"]),
        .library(name: "HelferrufStore", targets: ["HelferrufStore"]),
        .library(name: "HelferrufServer", targets: ["HelferrufServer"]),
        .library(name: "HelferrufPush", targets: ["HelferrufPush"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket", from: "2.8.1"),
        // WSCore's WebSocketHandler (SPI) runs the Hummingbird-served sockets of our own
        // child channel, as HummingbirdWebSocket's does; tied to the minor version it was written against.
        .package(url: "https://github.com/hummingbird-project/swift-websocket", .upToNextMinor(from: "1.6.2")),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth", from: "2.5.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
    ],
    targets: [
        .target(name: "HelferrufCore"),
        .target(name: "HelferrufSync", swiftSettings: lockSettings),
        .target(
            name: "HelferrufStore",
            dependencies: [
                "HelferrufCore",
                "HelferrufSync",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "HelferrufServer",
            dependencies: [
                "HelferrufCore",
                "HelferrufStore",
                "HelferrufSync",
                "HelferrufPush",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "WSCore", package: "swift-websocket"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOHTTPTypesHTTP1", package: "swift-nio-extras"),
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
            ]
        ),
        // Web Push (RFC 8030/8291/8292) client: encryption, VAPID and delivery. Uses Core's
        // endpoint allow-list and base64url (pure rules) but knows no server or store types:
        // the server depends on it, never the reverse.
        .target(
            name: "HelferrufPush",
            dependencies: [
                "HelferrufCore",
                "HelferrufSync",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "helferruf",
            dependencies: [
                "HelferrufServer",
                "HelferrufStore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                // `helferruf demo` is a client of a running server.
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "WSClient", package: "swift-websocket"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        .testTarget(name: "HelferrufCoreTests", dependencies: ["HelferrufCore"]),
        .testTarget(
            name: "HelferrufPushTests",
            dependencies: [
                "HelferrufPush",
                "HelferrufCore",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "HelferrufStoreTests",
            dependencies: ["HelferrufStore", .product(name: "GRDB", package: "GRDB.swift"), .product(name: "PostgresNIO", package: "postgres-nio")]
        ),
        .testTarget(
            name: "HelferrufServerTests",
            dependencies: [
                "HelferrufServer",
                "HelferrufStore",
                "HelferrufPush",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "helferrufTests",
            dependencies: [
                "helferruf",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
    ]
)
