// swift-tools-version:6.1
import Foundation
import PackageDescription

/// SwiftPM names a path dependency after its folder, which differs between clones.
let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().lastPathComponent.lowercased()

// Kept out of the root package so that `swift build` at the root never resolves or
// compiles the benchmark's dependencies.
let package = Package(
    name: "ledger-bench",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(path: "../.."),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
    ],
    targets: [
        .executableTarget(
            name: "ledger-bench",
            dependencies: [
                .product(name: "HelferrufStore", package: root),
                .product(name: "HelferrufCore", package: root),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ]
        )
    ]
)
