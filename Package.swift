// swift-tools-version:6.0
import PackageDescription
import Foundation

/// Release builds of the library are compiled for x86-64-v3 (AVX2, FMA, BMI2) when the machine
/// that builds them has it, unless SPECTRAL_RNN_PORTABLE=1 is set: the moment engine's vector
/// loops then use 256-bit registers, and the results are the same bits (docs/scale.md). The
/// programs check the CPU they run on first (Sources/SpectralRNN/LinearAlgebra/InstructionSet.swift,
/// which lists the same flags). Debug builds and the tests are compiled for baseline x86-64.
let buildsForX86_64V3: Bool = {
    #if os(Linux) && arch(x86_64)
    if ProcessInfo.processInfo.environment["SPECTRAL_RNN_PORTABLE"] == "1" { return false }
    guard let cpuinfo = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
          let line = cpuinfo.split(separator: "\n").first(where: { $0.hasPrefix("flags") }) else { return false }
    let present = Set(line.split(separator: " ").map(String.init))
    return ["avx", "avx2", "bmi1", "bmi2", "f16c", "fma", "abm", "movbe", "xsave",
            "cx16", "lahf_lm", "popcnt", "sse4_1", "sse4_2", "ssse3", "pni"].allSatisfy(present.contains)
    #else
    return false
    #endif
}()
let instructionSet: [SwiftSetting] = buildsForX86_64V3
    ? [.unsafeFlags(["-target-cpu", "haswell"], .when(configuration: .release)),
       .define("SPECTRAL_RNN_X86_64_V3", .when(configuration: .release))]
    : []

/// Release builds also compile and link the Swift runtime and Foundation statically (with
/// lld), so that the dynamic loader has far fewer symbols to resolve when a program starts:
/// about 7 ms of a 0.18 s fit (docs/scale.md). The programs are then about 80 MB each.
/// Debug builds and the tests link them dynamically, which links faster.
let staticRuntime: [SwiftSetting] = [.unsafeFlags(["-static-stdlib"], .when(configuration: .release))]
let staticRuntimeLink: [LinkerSetting] = [.unsafeFlags(["-static-stdlib", "-use-ld=lld"], .when(configuration: .release))]

let package = Package(
    name: "SpectralRNN",
    products: [
        .library(name: "SpectralRNN", targets: ["SpectralRNN"]),
        .executable(name: "spectral-rnn", targets: ["spectral-rnn"]),
        .executable(name: "01-score-functions", targets: ["01-score-functions"]),
        .executable(name: "02-glm", targets: ["02-glm"]),
        .executable(name: "03-quadratic-iornn", targets: ["03-quadratic-iornn"]),
        .executable(name: "04-polynomial", targets: ["04-polynomial"]),
        .executable(name: "05-bidirectional", targets: ["05-bidirectional"]),
        .executable(name: "06-concentration", targets: ["06-concentration"]),
        .executable(name: "07-spectral-vs-gradient", targets: ["07-spectral-vs-gradient"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        .systemLibrary(
            name: "CHDF5",
            path: "Sources/CHDF5",
            pkgConfig: "hdf5",
            providers: [.apt(["libhdf5-dev"])]
        ),
        .systemLibrary(
            name: "CLapack",
            path: "Sources/CLapack",
            pkgConfig: "lapacke",
            providers: [.apt(["libopenblas-dev", "liblapacke-dev"])]
        ),
        .target(
            name: "SpectralRNN",
            dependencies: [
                "CHDF5", "CLapack",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Sources/SpectralRNN",
            swiftSettings: instructionSet + staticRuntime
        ),
        .executableTarget(
            name: "spectral-rnn",
            dependencies: [
                "SpectralRNN",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Sources/spectral-rnn",
            swiftSettings: staticRuntime,
            linkerSettings: staticRuntimeLink
        ),
        .executableTarget(
            name: "01-score-functions",
            dependencies: ["SpectralRNN"],
            path: "Scripts/01-score-functions",
            swiftSettings: staticRuntime,
            linkerSettings: staticRuntimeLink
        ),
        .executableTarget(
            name: "02-glm",
            dependencies: ["SpectralRNN"],
            path: "Scripts/02-glm",
            swiftSettings: staticRuntime,
            linkerSettings: staticRuntimeLink
        ),
        .executableTarget(
            name: "03-quadratic-iornn",
            dependencies: ["SpectralRNN"],
            path: "Scripts/03-quadratic-iornn",
            swiftSettings: staticRuntime,
            linkerSettings: staticRuntimeLink
        ),
        .executableTarget(
            name: "04-polynomial",
            dependencies: ["SpectralRNN"],
            path: "Scripts/04-polynomial",
            swiftSettings: staticRuntime,
            linkerSettings: staticRuntimeLink
        ),
        .executableTarget(
            name: "05-bidirectional",
            dependencies: ["SpectralRNN"],
            path: "Scripts/05-bidirectional",
            swiftSettings: staticRuntime,
            linkerSettings: staticRuntimeLink
        ),
        .executableTarget(
            name: "06-concentration",
            dependencies: ["SpectralRNN"],
            path: "Scripts/06-concentration",
            swiftSettings: staticRuntime,
            linkerSettings: staticRuntimeLink
        ),
        .executableTarget(
            name: "07-spectral-vs-gradient",
            dependencies: ["SpectralRNN"],
            path: "Scripts/07-spectral-vs-gradient",
            swiftSettings: staticRuntime,
            linkerSettings: staticRuntimeLink
        ),
        .executableTarget(
            name: "benchmark-moments",
            dependencies: ["SpectralRNN"],
            path: "Scripts/benchmark/moments",
            swiftSettings: staticRuntime,
            linkerSettings: staticRuntimeLink
        ),
        .testTarget(
            name: "SpectralRNNTests",
            dependencies: ["SpectralRNN"],
            path: "Tests/SpectralRNNTests"
        ),
    ],
    swiftLanguageModes: [.v6]
)
