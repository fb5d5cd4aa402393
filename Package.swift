// swift-tools-version:6.1
import PackageDescription

// Dependencies point one way:
//   bootstrap -> Handlers -> AWSServices -> AWSCore -> HTTPTransport -> CCurl, CCrypto
//                Handlers -> LambdaRuntime -> HTTPTransport
//   AWSCore -> CCrypto;  everything -> Essentials -> JSON
// Local tooling (LocalHarness, local-invoke, local-viewer, bench, crowd) sits beside, never underneath, the shipped code.
let package = Package(
    name: "ivs-chat-events",
    products: [
        .executable(name: "bootstrap", targets: ["bootstrap"]),
        .executable(name: "local-invoke", targets: ["local-invoke"]),
        .executable(name: "local-viewer", targets: ["local-viewer"]),
        .executable(name: "bench", targets: ["bench"]),
        .executable(name: "crowd", targets: ["crowd"]),
        // The shipped modules, for the fuzz targets' package (Fuzz/, issue #12).
        .library(name: "IVSChatEventsModules",
                 targets: ["JSON", "Essentials", "HTTPTransport", "LambdaRuntime", "AWSCore", "AWSServices", "Handlers"]),
    ],
    targets: [
        // System libraries, through small module maps.
        .systemLibrary(name: "CCurl", pkgConfig: "libcurl",
                       providers: [.apt(["libcurl4-openssl-dev"])]),
        .systemLibrary(name: "CCrypto", pkgConfig: "openssl",
                       providers: [.apt(["libssl-dev"])]),

        // Shipped code: no Foundation, so the binary stays small and starts fast.
        .target(name: "JSON"),
        .target(name: "Essentials", dependencies: ["JSON"]),
        .target(name: "HTTPTransport", dependencies: ["CCurl", "CCrypto", "Essentials"]),
        .target(name: "LambdaRuntime", dependencies: ["HTTPTransport", "Essentials", "JSON"]),
        .target(name: "AWSCore", dependencies: ["HTTPTransport", "CCrypto", "Essentials", "JSON"]),
        .target(name: "AWSServices", dependencies: ["AWSCore", "JSON"]),
        .target(name: "Handlers", dependencies: ["LambdaRuntime", "AWSServices", "JSON", "Essentials"]),
        .executableTarget(name: "bootstrap", dependencies: ["Handlers", "LambdaRuntime"]),

        // Local tooling: Runtime API emulator, AWS stand-ins, the local API gateway, the invoke and viewer CLIs, benchmarks.
        .target(name: "LocalHarness", dependencies: ["JSON", "CCrypto", "HTTPTransport", "AWSCore", "AWSServices"]),
        .executableTarget(name: "local-invoke", dependencies: ["LocalHarness"]),
        .executableTarget(name: "local-viewer", dependencies: ["LocalHarness"]),
        // Benchmarks live in one place, bench/: the runner (this target), the Python peer, the plot.
        .executableTarget(name: "bench", dependencies: ["LocalHarness", "AWSCore", "JSON", "Handlers", "Essentials"], path: "bench/runner"),
        .executableTarget(name: "crowd", dependencies: ["LocalHarness"]),

        .testTarget(name: "UnitTests",
                    dependencies: ["JSON", "Essentials", "HTTPTransport", "LambdaRuntime",
                                   "AWSCore", "AWSServices", "Handlers"]),
        .testTarget(name: "IntegrationTests",
                    dependencies: ["LocalHarness", "JSON", "Essentials", "HTTPTransport", "AWSCore", "AWSServices", "Handlers",
                                   "bootstrap", "local-invoke", "local-viewer"]),
    ]
)
