// swift-tools-version: 6.0
// tdm-video: distil few-step text-to-video students with Trajectory Distribution Matching, on a CPU.
import PackageDescription

/// Hot numeric code is compiled without bounds and exclusivity checks in release builds.
/// Every input is validated before it reaches these loops.
/// On x86-64 the Swift kernels target Haswell's AVX2 + FMA (8-wide SIMD8 lanes in one register instead of
/// two SSE halves); every machine kind this project runs on has them. OpenBLAS picks its own kernels.
#if arch(x86_64)
let cpuFlags = ["-target-cpu", "haswell"]
#else
let cpuFlags: [String] = []
#endif
let fast: [SwiftSetting] = [
    .unsafeFlags(["-Ounchecked", "-enforce-exclusivity=unchecked"] + cpuFlags, .when(configuration: .release)),
]

let package = Package(
    name: "tdm-video",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "tdm-video", targets: ["TDMVideoCLI"]),
        .library(name: "VideoModel", targets: ["VideoModel"]),
        .library(name: "VideoInference", targets: ["VideoInference"]),
        .library(name: "VideoCommon", targets: ["VideoCommon"]),
        .library(name: "TDMVideo", targets: ["TDMVideo"]),
        .library(name: "VideoIO", targets: ["VideoIO"]),
        .library(name: "VBenchLite", targets: ["VBenchLite"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.1"),
    ],
    targets: [
        // FFmpeg's headers only: VideoIO opens the libraries with dlopen when video is first read or written
        // (Sources/VideoIO/FFmpegLibrary.swift), so no command pays their ~45 ms load at start-up. No
        // pkgConfig: it would add -lavformat; the Debian/Ubuntu headers are on the default include path.
        .systemLibrary(name: "CFFmpeg", path: "Sources/CFFmpeg",
                       providers: [.apt(["libavformat-dev", "libavcodec-dev", "libswscale-dev"])]),
        // libx264's header only: VideoIO's H.264 MP4 writer opens libx264 with dlopen and drives it directly,
        // without libavcodec/libavformat (Sources/VideoIO/H264MP4Writer.swift).
        .systemLibrary(name: "CX264", path: "Sources/CX264", providers: [.apt(["libx264-dev"])]),
        // Open MPI (data-parallel training and suite evaluation across ranks); only TDMVideo links it.
        .systemLibrary(name: "CMPI", path: "Sources/CMPI", pkgConfig: "ompi-c",
                       providers: [.apt(["libopenmpi-dev", "openmpi-bin"])]),
        // Leaves: the one atomic file writer; the values every layer shares (the clip, the prompt-suite
        // format, the world's vocabulary).
        .target(name: "AtomicFiles", swiftSettings: fast),
        .target(name: "VideoCommon", swiftSettings: fast),
        // The numerical core and the model (transformer, schedulers, sampler, codec and text encoder).
        // OpenBLAS is opened with dlopen on first use (Sources/TensorCore/BLAS.swift), not linked.
        .target(name: "TensorCore", dependencies: ["AtomicFiles"], swiftSettings: fast),
        .target(name: "VideoModel", dependencies: ["TensorCore"], swiftSettings: fast),
        // Inference: model packages and the text-to-video pipeline. Sampling needs nothing above this.
        .target(name: "VideoInference", dependencies: ["VideoModel", "TensorCore", "AtomicFiles", "VideoCommon"], swiftSettings: fast),
        // The embedded world, the codec library, the scorer: each depends only on the leaves.
        .target(name: "ShapeWorld", dependencies: ["TensorCore", "VideoCommon"], swiftSettings: fast),
        .target(name: "VideoIO", dependencies: ["CFFmpeg", "CX264", "VideoCommon", "AtomicFiles"], swiftSettings: fast),
        .target(name: "VBenchLite", dependencies: ["VideoCommon", "AtomicFiles", "TensorCore"], swiftSettings: fast),
        // Training only: pretraining, distillation, their configs, checkpoints, logs and evaluations.
        .target(name: "TDMVideo",
                dependencies: ["CMPI", "VideoInference", "VideoModel", "ShapeWorld", "VideoIO", "VBenchLite", "VideoCommon",
                               "AtomicFiles", .product(name: "Yams", package: "Yams")],
                swiftSettings: fast),
        .executableTarget(name: "TDMVideoCLI",
                          dependencies: ["TDMVideo", "VideoInference", "VideoModel", "ShapeWorld", "VideoIO", "VBenchLite",
                                         "VideoCommon", "AtomicFiles", "TensorCore",
                                         .product(name: "ArgumentParser", package: "swift-argument-parser")],
                          path: "Sources/tdm-video"),
        .testTarget(name: "TensorCoreTests", dependencies: ["TensorCore", "AtomicFiles"]),
        .testTarget(name: "VideoModelTests", dependencies: ["VideoModel", "TensorCore"]),
        .testTarget(name: "ShapeWorldTests", dependencies: ["ShapeWorld", "VBenchLite", "VideoIO", "VideoCommon"]),
        .testTarget(name: "VideoIOTests", dependencies: ["VideoIO", "VideoCommon"]),
        .testTarget(name: "VBenchLiteTests", dependencies: ["VBenchLite", "VideoIO", "VideoCommon"]),
        .testTarget(name: "VideoInferenceTests", dependencies: ["VideoInference", "VideoModel", "TensorCore"]),
        .testTarget(name: "TDMVideoTests", dependencies: ["TDMVideo", "VideoInference", "VideoCommon", "ShapeWorld", "VBenchLite"]),
        // Every test that runs the `tdm-video` binary lives here (the binary of the configuration under test).
        .testTarget(name: "CLITests", dependencies: ["TensorCore", "ShapeWorld", "VBenchLite", "VideoCommon"]),
    ],
    swiftLanguageModes: [.v6]
)
