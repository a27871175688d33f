// swift-tools-version:6.1
import PackageDescription

// The fan-out load generator (issue 5). A nested package, so that `swift build` and
// `swift test` at the root never resolve or compile its dependencies.
let package = Package(
    name: "helferruf-loadtest",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "helferruf", path: ".."),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
    ],
    targets: [
        .executableTarget(
            name: "loadgen",
            dependencies: [
                .product(name: "HelferrufCore", package: "helferruf"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ],
            // The tool runs its clients on NIO event loops with plain locks; language mode 5
            // keeps it free of Sendable ceremony that buys nothing in a load generator.
            swiftSettings: [.swiftLanguageMode(.v5)]
        ),
    ]
)
