// swift-tools-version:6.0
import PackageDescription

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
            path: "Sources/SpectralRNN"
        ),
        .executableTarget(
            name: "spectral-rnn",
            dependencies: [
                "SpectralRNN",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Sources/spectral-rnn"
        ),
        .executableTarget(
            name: "01-score-functions",
            dependencies: ["SpectralRNN"],
            path: "Scripts/01-score-functions"
        ),
        .executableTarget(
            name: "02-glm",
            dependencies: ["SpectralRNN"],
            path: "Scripts/02-glm"
        ),
        .executableTarget(
            name: "03-quadratic-iornn",
            dependencies: ["SpectralRNN"],
            path: "Scripts/03-quadratic-iornn"
        ),
        .executableTarget(
            name: "04-polynomial",
            dependencies: ["SpectralRNN"],
            path: "Scripts/04-polynomial"
        ),
        .executableTarget(
            name: "05-bidirectional",
            dependencies: ["SpectralRNN"],
            path: "Scripts/05-bidirectional"
        ),
        .executableTarget(
            name: "06-concentration",
            dependencies: ["SpectralRNN"],
            path: "Scripts/06-concentration"
        ),
        .executableTarget(
            name: "07-spectral-vs-gradient",
            dependencies: ["SpectralRNN"],
            path: "Scripts/07-spectral-vs-gradient"
        ),
        .executableTarget(
            name: "benchmark-moments",
            dependencies: ["SpectralRNN"],
            path: "Scripts/benchmark/moments"
        ),
        .testTarget(
            name: "SpectralRNNTests",
            dependencies: ["SpectralRNN"],
            path: "Tests/SpectralRNNTests"
        ),
    ],
    swiftLanguageModes: [.v6]
)
