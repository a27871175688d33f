// swift-tools-version:6.1
import PackageDescription

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
                .product(name: "HelferrufStore", package: "helferruf"),
                .product(name: "HelferrufCore", package: "helferruf"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ]
        )
    ]
)
