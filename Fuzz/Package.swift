// swift-tools-version:6.1
import PackageDescription

// libFuzzer targets for every parser of untrusted input (issue #12). Built and run by
// scripts/fuzz.sh (`make fuzz`) with `--sanitize fuzzer --sanitize address`; each target is an
// executable whose `LLVMFuzzerTestOneInput` checks properties, trapping on any violation.
let targets = ["fuzz-json", "fuzz-eventbridge", "fuzz-http-api", "fuzz-runtime-headers", "fuzz-aws-error",
               "fuzz-credentials", "fuzz-config", "fuzz-review"]

let package = Package(
    name: "ivs-chat-events-fuzz",
    products: targets.map { .executable(name: $0, targets: [$0]) },
    dependencies: [.package(name: "ivs-chat-events", path: "..")],
    targets: [
        .systemLibrary(name: "CLibFuzzer"),
        .target(name: "FuzzSupport", dependencies: [
            "CLibFuzzer", .product(name: "IVSChatEventsModules", package: "ivs-chat-events"),
        ]),
    ] + targets.map { name in
        .executableTarget(name: name, dependencies: [
            "FuzzSupport",
            .product(name: "IVSChatEventsModules", package: "ivs-chat-events"),
        ])
    },
    // Harness code: top-level state in main.swift, called from libFuzzer's C callback on one thread.
    swiftLanguageModes: [.v5]
)
