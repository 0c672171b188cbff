// swift-tools-version:6.0
import PackageDescription

// liblstm: an LSTM library in Swift, shipped as the C shared library liblstm.so.
// Module flow (see ARCHITECTURE.md): CLSTM (C ABI) -> LSTMKeras (Keras JSON) -> LSTMCore (math).
#if arch(x86_64)
let avx2Settings: [SwiftSetting] = [.unsafeFlags(["-target-cpu", "haswell"]), .define("LSTM_FMA")]
// AVX-512 F, BW, DQ, VL, CD (Skylake-SP and later, AMD Zen 4 and later): 32 vector registers
// of 16 floats and masked loads.
let avx512Settings: [SwiftSetting] = [.unsafeFlags(["-target-cpu", "skylake-avx512"]), .define("LSTM_FMA"),
                                      .define("LSTM_AVX512")]
#else
let avx2Settings: [SwiftSetting] = []  // elsewhere every build is the baseline one
let avx512Settings: [SwiftSetting] = []
#endif

let package = Package(
    name: "liblstm",
    products: [
        // The C shared library: `swift build -c release --product lstm` writes liblstm.so.
        .library(name: "lstm", type: .dynamic, targets: ["CLSTM"]),
        // The `lstm` command-line tool (the Makefile installs it as build/lstm).
        .executable(name: "lstm-cli", targets: ["lstm-cli"]),
    ],
    targets: [
        // The hot loops, written once (Sources/LSTMKernels) and compiled three times: for the
        // x86-64 baseline, and (Sources/LSTMKernelsAVX2 and LSTMKernelsAVX512 link the same
        // files) for AVX2 + FMA and for AVX-512. LSTMCore picks one at run time from what the CPU
        // reports (CCPU).
        .target(name: "LSTMKernels"),
        .target(name: "LSTMKernelsAVX2", swiftSettings: avx2Settings),
        .target(name: "LSTMKernelsAVX512", swiftSettings: avx512Settings),
        .systemLibrary(name: "CCPU"),
        .target(name: "LSTMCore", dependencies: ["CCPU", "LSTMKernels", "LSTMKernelsAVX2", "LSTMKernelsAVX512"]),
        // System libraries, found through pkg-config (Debian: zlib1g-dev, libhdf5-dev). The
        // library links zlib only; libhdf5 is the tests' oracle for the HDF5 reader and writer.
        .systemLibrary(name: "CHDF5", pkgConfig: "hdf5", providers: [.apt(["libhdf5-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .target(name: "LSTMKeras", dependencies: ["LSTMCore", "CZlib"]),
        // Models out to ONNX (opset 17): the recurrent layers as ONNX's LSTM, GRU and RNN operators.
        .target(name: "LSTMONNX", dependencies: ["LSTMCore", "LSTMKeras"]),
        // Exposes include/lstm.h to Swift so that the exported functions use the C types themselves.
        .systemLibrary(name: "CLSTMABI"),
        // The library's destructor (dlclose): a few lines of C, since Swift has no destructors.
        // DWARF 4: Debian 12's valgrind 3.19 cannot read the DWARF 5 clang writes by default,
        // and gives up on the whole library (the Swift code is compiled to DWARF 4 already;
        // the Makefile says so explicitly for the release build).
        .target(name: "CLSTMUnload", cSettings: [.unsafeFlags(["-gdwarf-4"])]),
        .target(
            name: "CLSTM",
            dependencies: ["LSTMCore", "LSTMKeras", "LSTMONNX", "CLSTMABI", "CLSTMUnload"],
            exclude: ["exports.map"]
        ),
        .executableTarget(name: "lstm-cli", dependencies: ["LSTMCore", "LSTMKeras", "LSTMONNX", "CLSTMABI"]),
        // libFuzzer targets (make fuzz builds them with -sanitize=fuzzer and -DLSTM_FUZZ); a
        // normal build replays inputs given as arguments.
        .executableTarget(
            name: "lstm-fuzz",
            dependencies: ["CLSTM", "CLSTMABI", "LSTMCore", "LSTMKeras"],
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]
        ),
        .testTarget(name: "LSTMTests", dependencies: ["LSTMCore", "LSTMKeras", "LSTMKernels", "LSTMKernelsAVX2", "LSTMKernelsAVX512", "CHDF5"]),
    ],
    swiftLanguageModes: [.v5]
)
