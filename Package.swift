// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "Borealis",
    products: [
        .library(name: "Borealis", targets: ["Borealis"]),
        .executable(name: "borealis-stress", targets: ["borealis-stress"]),
    ],
    targets: [
        .systemLibrary(
            name: "CZstd",
            pkgConfig: "libzstd",
            providers: [.apt(["libzstd-dev"])]
        ),
        // Small C helpers the engine cannot express in Swift: the SSE4.2 CRC32C instruction.
        .target(name: "CBorealisSupport"),
        .target(
            name: "Borealis",
            dependencies: ["CZstd", "CBorealisSupport"]
        ),
        // The crash and fault harnesses, shared by the stress tool and the tests.
        .target(
            name: "BorealisStress",
            dependencies: ["Borealis"]
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
        .executableTarget(
            name: "borealis-stress",
            dependencies: ["Borealis", "BorealisStress"]
        ),
        .testTarget(
            name: "BorealisTests",
            dependencies: ["Borealis", "BorealisStress", "BorealisSLT"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
