// swift-tools-version:6.1
// Rill: a Kafka-compatible commit log in Swift, with the harness that measures it and tries to
// break it. See docs/ and ../shared/DESIGN.md for the module layout and the dependency direction.
import PackageDescription

let package = Package(
    name: "Rill",
    products: [
        .executable(name: "rill", targets: ["rill"]),
        .library(name: "RillFormat", targets: ["RillFormat"]),
        .library(name: "RillStorage", targets: ["RillStorage"]),
        .library(name: "RillProtocol", targets: ["RillProtocol"]),
        .library(name: "RillChecker", targets: ["RillChecker"]),
    ],
    dependencies: [
        // ByteBuffer is the byte vocabulary of every core module (DESIGN.md).
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        // Deque for the producer's batch queues and the consumer's record buffers.
        .package(url: "https://github.com/apple/swift-collections.git", from: "1.6.0"),
        // Uncapped, auto-resizing latency histograms for the perf tools and the harness.
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift.git", from: "0.2.0"),
        // Shrinking property tests for the storage model test.
        .package(url: "https://github.com/x-sheep/swift-property-based.git", from: "2.0.1"),
        // Workload files are YAML (OpenMessaging Benchmark's format); Yams parses them with line
        // numbers, so a bad field is reported as file:line.
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
    ],
    targets: [
        // System compression libraries (zlib, lz4, zstd, snappy), installed by `make deps`.
        .systemLibrary(
            name: "CCodecs",
            path: "Sources/CCodecs",
            providers: [.apt(["zlib1g-dev", "liblz4-dev", "libzstd-dev", "libsnappy-dev"])]
        ),
        // The system SQLite library: the exactly-once workload's external store (RillHarness).
        .systemLibrary(name: "CSQLite", path: "Sources/CSQLite", providers: [.apt(["libsqlite3-dev"])]),
        // CRC-32C with the SSE4.2 instruction where the CPU has it, a table-driven fallback otherwise.
        .target(name: "CRillChecksum", path: "Sources/CRillChecksum", exclude: ["README.md"]),
        // mallopt, for the command-line tool's allocator tuning.
        .target(name: "CRillSystem", path: "Sources/CRillSystem"),
        .target(
            name: "RillFormat",
            dependencies: [
                "CCodecs",
                "CRillChecksum",
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            exclude: ["README.md"]
        ),
        .target(
            name: "RillStorage",
            dependencies: [
                "RillFormat",
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            exclude: ["README.md"]
        ),
        .target(
            name: "RillProtocol",
            dependencies: [
                "RillFormat",
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            exclude: ["README.md"]
        ),
        // The history checker (HISTORY-FORMAT.md): pure, reads histories, writes verdicts and reports.
        .target(
            name: "RillChecker",
            dependencies: ["RillFormat"],
            exclude: ["README.md"]
        ),
        .target(
            name: "RillBroker",
            dependencies: [
                "RillFormat",
                "RillStorage",
                "RillProtocol",
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .target(
            name: "RillServer",
            dependencies: [
                "CRillSystem",
                "RillBroker",
                "RillProtocol",
                "RillStorage",
                "RillFormat",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ]
        ),
        .target(
            name: "RillClient",
            dependencies: [
                "RillProtocol",
                "RillFormat",
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ]
        ),
        // The benchmark harness: workloads, driver, targets (embedded brokers, any bootstrap
        // address, the storage engine), measurements, results, reports and comparisons.
        .target(
            name: "RillHarness",
            dependencies: [
                "CSQLite",
                "RillChecker",
                "RillNemesis",
                "RillClient",
                "RillServer",
                "RillBroker",
                "RillStorage",
                "RillFormat",
                "RillProtocol",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "Yams", package: "Yams"),
            ],
            exclude: ["README.md"]
        ),
        .executableTarget(
            name: "rill",
            dependencies: [
                "RillHarness",
                "RillFormat",
                "RillStorage",
                "RillServer",
                "RillBroker",
                "RillClient",
                "RillProtocol",
                "RillChecker",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // The libFuzzer target for the request decoder (`make fuzz`). A normal build makes a plain
        // executable that replays inputs and writes the seed corpus; built with `-sanitize=fuzzer`
        // and `-D RILL_LIBFUZZER` (see the Makefile) it has no main of its own and libFuzzer's
        // main drives `LLVMFuzzerTestOneInput`.
        .executableTarget(
            name: "RillFuzz",
            dependencies: [
                "RillProtocol",
                "RillFormat",
                "RillBroker",
                "RillStorage",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ]
        ),
        // Faults for the harness: fault-injecting proxies in every client-broker path.
        .target(
            name: "RillNemesis",
            dependencies: [
                "RillProtocol", "RillFormat",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ]
        ),
        .testTarget(name: "ArchitectureTests"),
        .testTarget(
            name: "RillNemesisTests",
            dependencies: [
                "RillNemesis", "RillServer", "RillBroker", "RillClient", "RillProtocol", "RillFormat",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        // Depends on "rill" so that `swift test` builds the executable the embedded target starts.
        .testTarget(
            name: "RillHarnessTests",
            dependencies: [
                "CSQLite",
                "RillHarness",
                "RillChecker",
                "RillClient",
                "rill",
                "RillFormat",
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ]
        ),
        // Real Kafka clients (kcat, confluent-kafka, kafka-python) against `rill broker` processes.
        // Depending on "rill" makes `swift test` build the executable the tests start.
        .testTarget(
            name: "InteropTests",
            dependencies: [
                "rill",
                "RillClient",
                "RillProtocol",
                "RillFormat",
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            exclude: ["README.md"],
            resources: [.copy("Scripts")]
        ),
        // The client's sans-IO parts (accumulator, partitioner, configuration) as values, and the
        // event-loop executor its tasks run on.
        .testTarget(
            name: "RillClientTests",
            dependencies: [
                "RillClient",
                "RillProtocol",
                "RillFormat",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "RillProtocolTests",
            dependencies: ["RillProtocol", "RillFormat", .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOEmbedded", package: "swift-nio")]
        ),
        .testTarget(
            name: "RillFormatTests",
            dependencies: ["RillFormat", .product(name: "NIOCore", package: "swift-nio")],
            resources: [.copy("Fixtures")]
        ),
        .testTarget(
            name: "RillStorageTests",
            dependencies: [
                "RillStorage",
                "RillFormat",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "PropertyBased", package: "swift-property-based"),
            ]
        ),
        .testTarget(
            name: "RillCheckerTests",
            dependencies: [
                "RillChecker",
                "RillFormat",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ],
            resources: [.copy("Fixtures")]
        ),
        .testTarget(
            name: "RillBrokerTests",
            dependencies: [
                "RillBroker",
                "RillStorage",
                "RillFormat",
                "RillProtocol",
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "RillServerTests",
            dependencies: [
                "RillServer",
                "RillBroker",
                "RillProtocol",
                "RillFormat",
                "RillStorage",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
    ]
)
