// swift-tools-version: 6.0
// tdm-video: distil few-step text-to-video students with Trajectory Distribution Matching, on a CPU.
import PackageDescription

/// Hot numeric code is compiled without bounds and exclusivity checks in release builds.
/// Every input is validated before it reaches these loops.
let fast: [SwiftSetting] = [
    .unsafeFlags(["-Ounchecked", "-enforce-exclusivity=unchecked"], .when(configuration: .release)),
]

let package = Package(
    name: "tdm-video",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "tdm-video", targets: ["TDMVideoCLI"]),
        .library(name: "VideoModel", targets: ["VideoModel"]),
        .library(name: "TDMVideo", targets: ["TDMVideo"]),
        .library(name: "VideoIO", targets: ["VideoIO"]),
        .library(name: "VBenchLite", targets: ["VBenchLite"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.1"),
    ],
    targets: [
        .systemLibrary(name: "CBLAS", path: "Sources/CBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CFFmpeg", path: "Sources/CFFmpeg", pkgConfig: "libavformat",
                       providers: [.apt(["libavformat-dev", "libavcodec-dev", "libswscale-dev"])]),
        .target(name: "TensorCore", dependencies: ["CBLAS"], swiftSettings: fast),
        .target(name: "VideoModel", dependencies: ["TensorCore"], swiftSettings: fast),
        .target(name: "ShapeWorld", dependencies: ["TensorCore", "VideoIO", "VBenchLite"], swiftSettings: fast),
        .target(name: "VideoIO", dependencies: ["CFFmpeg"], swiftSettings: fast),
        .target(name: "VBenchLite", dependencies: ["VideoIO"], swiftSettings: fast),
        .target(name: "TDMVideo",
                dependencies: ["VideoModel", "ShapeWorld", "VideoIO", "VBenchLite",
                               .product(name: "Yams", package: "Yams")],
                swiftSettings: fast),
        .executableTarget(name: "TDMVideoCLI",
                          dependencies: ["TDMVideo", "VideoModel", "ShapeWorld", "VideoIO", "VBenchLite",
                                         .product(name: "ArgumentParser", package: "swift-argument-parser")],
                          path: "Sources/tdm-video"),
        .testTarget(name: "TensorCoreTests", dependencies: ["TensorCore"]),
        .testTarget(name: "VideoModelTests", dependencies: ["VideoModel", "TensorCore"]),
        .testTarget(name: "ShapeWorldTests", dependencies: ["ShapeWorld", "VBenchLite", "VideoIO"]),
        .testTarget(name: "VideoIOTests", dependencies: ["VideoIO"]),
        .testTarget(name: "VBenchLiteTests", dependencies: ["VBenchLite", "VideoIO"]),
        .testTarget(name: "TDMVideoTests", dependencies: ["TDMVideo"]),
        .testTarget(name: "CLITests", dependencies: ["TensorCore"]),
    ],
    swiftLanguageModes: [.v6]
)
