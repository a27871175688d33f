// swift-tools-version:6.1
// Benchmarks of the matching engine and the deadline planner, kept out of the main package graph: `swift build` at
// the root never resolves ordo-one/benchmark. See docs/BENCHMARKS.md.
import Foundation
import PackageDescription

/// SwiftPM names a path dependency after its directory, which differs between clones.
let root = URL(fileURLWithPath: Context.packageDirectory).deletingLastPathComponent().lastPathComponent
let core = Target.Dependency.product(name: "HelferrufCore", package: root)

let package = Package(
    name: "helferruf-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .target(name: "MatchingWorkload", dependencies: [core], path: "Sources/MatchingWorkload"),
        .executableTarget(name: "bench-matching", dependencies: ["MatchingWorkload", core], path: "Sources/bench-matching"),
        .executableTarget(
            name: "Matching",
            dependencies: ["MatchingWorkload", core, .product(name: "Benchmark", package: "benchmark")],
            path: "Benchmarks/Matching",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .executableTarget(
            name: "Deadline",
            dependencies: [core, .product(name: "Benchmark", package: "benchmark")],
            path: "Benchmarks/Deadline",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ]
)
