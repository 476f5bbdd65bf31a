import Foundation

/// Lines on standard output, written straight to the descriptor.
///
/// Not `print` plus `fflush(nil)`: glibc's `fflush(NULL)` also locks standard input, which the
/// chat client's reading thread holds while it waits for a line, so output stalled until the
/// user typed something. One `write(2)` per line needs no flush and touches no other stream.
enum StandardOutput {
    static func line(_ text: String) {
        FileHandle.standardOutput.write(Data((text + "\n").utf8))
    }
}
