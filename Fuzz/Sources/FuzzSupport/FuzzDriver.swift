import CLibFuzzer

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The entry point every fuzzer shares.
///
/// SwiftPM links each executable with its own entry point (`<Target>_main`, aliased to `main`),
/// so libFuzzer's `main` cannot be the program's; each fuzzer's `@main` hands its
/// `LLVMFuzzerTestOneInput` to libFuzzer's driver instead, which then reads the usual flags
/// (`-max_total_time=30`, corpus directories, crash files to replay).
public enum FuzzDriver {
    /// libFuzzer's per-input callback: the input's bytes and count; returns 0.
    public typealias TestOneInput = @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt

    /// Runs libFuzzer with this process's command line and exits with its status.
    public static func run(_ testOneInput: TestOneInput) -> Never {
        var argc = CommandLine.argc
        var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&argc, &argv, testOneInput))
    }

    /// The input as a buffer (empty when libFuzzer passes no bytes).
    public static func bytes(_ data: UnsafePointer<UInt8>?, _ count: Int) -> UnsafeRawBufferPointer {
        guard let data, count > 0 else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        return UnsafeRawBufferPointer(start: data, count: count)
    }
}

/// Stops the fuzzer with a message when an invariant does not hold: libFuzzer records the input
/// as a crash, and the message says which invariant broke.
public func fuzzCheck(
    _ condition: @autoclosure () -> Bool,
    _ message: @autoclosure () -> String,
    file: StaticString = #fileID,
    line: UInt = #line
) {
    if !condition() {
        fatalError("invariant failed: \(message())", file: file, line: line)
    }
}
