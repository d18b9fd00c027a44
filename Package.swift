// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "Borealis",
    products: [
        .library(name: "Borealis", targets: ["Borealis"]),
        // The C library: libBorealisC.so, shipped as libborealis.so.0 by scripts/build-c-library
        // (a library and the `borealis` shell cannot share a product name).
        .library(name: "BorealisC", type: .dynamic, targets: ["BorealisC"]),
        // The PostgreSQL wire protocol listener (`borealis serve`, docs/server.md), on SwiftNIO.
        .library(name: "BorealisServer", targets: ["BorealisServer"]),
        .executable(name: "borealis", targets: ["borealis"]),
        .executable(name: "borealis-stress", targets: ["borealis-stress"]),
        .executable(name: "borealis-example", targets: ["borealis-example"]),
        .executable(name: "borealis-bench", targets: ["borealis-bench"]),
        .executable(name: "borealis-fuzz", targets: ["borealis-fuzz"]),
    ],
    dependencies: [
        // `swift package generate-documentation --target Borealis` (a command plugin only: nothing
        // of it is linked into the library).
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
        // The PostgreSQL wire protocol listener (BorealisServer only: neither the Borealis library
        // nor libborealis links it).
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
    ],
    targets: [
        .systemLibrary(
            name: "CZstd",
            pkgConfig: "libzstd",
            providers: [.apt(["libzstd-dev"])]
        ),
        // Line editing and history for the interactive shell (Debian libedit-dev).
        .systemLibrary(
            name: "CEdit",
            pkgConfig: "libedit",
            providers: [.apt(["libedit-dev"])]
        ),
        // SQLite, the benchmark's baseline (Debian libsqlite3-dev).
        .systemLibrary(
            name: "CSQLite3",
            pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"])]
        ),
        // Small C helpers the engine cannot express in Swift: the SSE4.2 CRC32C instruction and
        // open flags Swift's Glibc module leaves out (O_DIRECT).
        .target(name: "CBorealisSupport"),
        // The library in three layers, so the compiler holds the arrows (docs/query-engine.md,
        // "Layers"): storage knows nothing of SQL, SQL nothing of the API. What a higher layer
        // needs of a lower one is `package`; what users see is `public` and re-exported by Borealis.
        // Platform, Storage, Transaction, Access: the log, page file, snapshots, B+trees.
        .target(
            name: "BorealisStorage",
            dependencies: ["CZstd", "CBorealisSupport"]
        ),
        // Types, Catalog, SQL, Execution: values, schemas, the parser, planner and operators.
        .target(
            name: "BorealisSQL",
            dependencies: ["BorealisStorage"]
        ),
        // API: Database, prepared statements, cursors, replicas, records.
        .target(
            name: "Borealis",
            dependencies: ["BorealisSQL", "BorealisStorage"]
        ),
        // @_cdecl shims: the C ABI of Include/borealis.h.
        .target(
            name: "BorealisC",
            dependencies: ["Borealis"]
        ),
        // A C program that calls every function of the header, driven by the tests.
        .target(
            name: "CBorealisABICheck",
            dependencies: ["BorealisC"],
            cSettings: [.headerSearchPath("../../Include")]
        ),
        // The crash and fault harnesses, shared by the stress tool and the tests.
        .target(
            name: "BorealisStress",
            dependencies: ["Borealis"]
        ),
        // The PostgreSQL wire protocol listener: sessions, messages, text and binary codecs.
        .target(
            name: "BorealisServer",
            dependencies: [
                "Borealis", "BorealisSQL",
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        // The `borealis` shell (and `borealis serve`).
        .executableTarget(
            name: "borealis",
            dependencies: ["Borealis", "BorealisServer", "CEdit"]
        ),
        // examples/swift: the Swift example a new user can copy.
        .executableTarget(
            name: "borealis-example",
            dependencies: ["Borealis"],
            path: "examples/swift"
        ),
        // Benchmarks, side by side with SQLite in one run.
        .executableTarget(
            name: "borealis-bench",
            dependencies: ["Borealis", "CSQLite3"]
        ),
        // The sqllogictest runner, shared by the tests and the borealis-slt tool.
        .target(
            name: "BorealisSLT",
            dependencies: ["Borealis"]
        ),
        .executableTarget(
            name: "borealis-slt",
            dependencies: ["Borealis", "BorealisSLT"]
        ),
        // Fuzz targets (issue 19, docs/robustness.md "Fuzzing"): the drivers, replayed by the
        // tests over the committed corpora, and the libFuzzer binary scripts/fuzz builds.
        .target(
            name: "BorealisFuzz",
            dependencies: ["Borealis", "BorealisSQL", "BorealisStorage", "BorealisC", "BorealisStress"]
        ),
        // fuzz-wire: apart from BorealisFuzz, so that the core tests never link SwiftNIO.
        .target(
            name: "BorealisFuzzWire",
            dependencies: ["Borealis", "BorealisFuzz", "BorealisServer", "BorealisStorage"]
        ),
        .executableTarget(
            name: "borealis-fuzz",
            dependencies: ["BorealisFuzz", "BorealisFuzzWire"]
        ),
        .executableTarget(
            name: "borealis-stress",
            dependencies: ["Borealis", "BorealisStress"]
        ),
        .testTarget(
            name: "BorealisTests",
            dependencies: ["Borealis", "BorealisSQL", "BorealisStorage", "BorealisStress", "BorealisSLT", "BorealisC", "CBorealisABICheck", "BorealisFuzz"]
        ),
        // The listener driven by real clients (psql, pgbench) on an ephemeral port.
        .testTarget(
            name: "BorealisServerTests",
            dependencies: ["Borealis", "BorealisServer", "BorealisFuzzWire"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
