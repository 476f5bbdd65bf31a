import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Operating-system helpers: file-descriptor limit, RSS and CPU time of a process, core count.
enum System {
    /// Raises RLIMIT_NOFILE (soft, and hard when allowed) to at least `wanted`; returns the soft
    /// limit in force afterwards.
    @discardableResult
    static func raiseFileLimit(to wanted: UInt64) -> UInt64 {
        var limit = rlimit()
        #if canImport(Glibc)
        let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
        #else
        let resource = RLIMIT_NOFILE
        #endif
        guard getrlimit(resource, &limit) == 0 else { return 0 }
        if UInt64(limit.rlim_cur) >= wanted { return UInt64(limit.rlim_cur) }
        var raised = limit
        raised.rlim_cur = rlim_t(wanted)
        if UInt64(raised.rlim_max) < wanted { raised.rlim_max = rlim_t(wanted) }
        if setrlimit(resource, &raised) != 0 {
            // Not allowed to raise the hard limit: go as far as it lets us.
            raised = limit
            raised.rlim_cur = limit.rlim_max
            _ = setrlimit(resource, &raised)
        }
        _ = getrlimit(resource, &limit)
        return UInt64(limit.rlim_cur)
    }

    /// Fields of /proc/<pid>/status, in KiB (`VmRSS`, `RssAnon`, ...).
    static func statusKiB(pid: Int32, field: String) -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix(field + ":") {
            let digits = line.dropFirst(field.count + 1).filter(\.isNumber)
            return Int(digits)
        }
        return nil
    }

    /// User + system CPU time consumed by `pid` so far, in seconds (from /proc/<pid>/stat).
    static func cpuSeconds(pid: Int32) -> Double? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = text.lastIndex(of: ")")
        else { return nil }
        // Fields after the command name: state(3) ppid(4) ... utime(14) stime(15).
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// CPU time of this process so far, in seconds.
    static func ownCPUSeconds() -> Double {
        var usage = rusage()
        #if canImport(Glibc)
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        #else
        getrusage(RUSAGE_SELF, &usage)
        #endif
        func seconds(_ time: timeval) -> Double { Double(time.tv_sec) + Double(time.tv_usec) / 1e6 }
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }

    static var coreCount: Int { ProcessInfo.processInfo.activeProcessorCount }

    static var cpuModel: String {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return "unknown CPU" }
        for line in text.split(separator: "\n") where line.hasPrefix("model name") {
            if let colon = line.firstIndex(of: ":") {
                return line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
        }
        return "unknown CPU"
    }

    static var kernel: String {
        var name = utsname()
        uname(&name)
        let release = withUnsafeBytes(of: &name.release) { raw in
            String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
        }
        return "Linux \(release)"
    }

    /// The 1, 5 and 15 minute load averages.
    static var loadAverage: String {
        let text = (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8)) ?? ""
        return text.split(separator: " ").prefix(3).joined(separator: " ")
    }

    static var executablePath: String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }
}

/// A server subprocess: this binary re-executed with `server <kind>`. It prints its port, then
/// serves until its standard input closes (so it never outlives the benchmark).
final class ServerProcess {
    let kind: ServerKind
    let process = Process()
    let port: Int
    private let stdinPipe = Pipe()
    private let stdoutPipe = Pipe()

    init(kind: ServerKind) throws {
        self.kind = kind
        process.executableURL = URL(fileURLWithPath: System.executablePath)
        process.arguments = ["server", kind.rawValue]
        process.standardInput = stdinPipe
        process.standardOutput = stdoutPipe
        process.standardError = FileHandle.standardError
        try process.run()
        // Read "PORT <n>\n".
        var text = ""
        let reader = stdoutPipe.fileHandleForReading
        while !text.contains("\n") {
            let chunk = reader.availableData
            if chunk.isEmpty { throw BenchError("the \(kind.rawValue) server exited before listening") }
            text += String(decoding: chunk, as: UTF8.self)
        }
        guard let line = text.split(separator: "\n").first, line.hasPrefix("PORT "), let port = Int(line.dropFirst(5)) else {
            throw BenchError("unexpected server output: \(text)")
        }
        self.port = port
    }

    var pid: Int32 { process.processIdentifier }
    var rssKiB: Int { System.statusKiB(pid: pid, field: "VmRSS") ?? 0 }
    var anonKiB: Int { System.statusKiB(pid: pid, field: "RssAnon") ?? 0 }
    var cpuSeconds: Double { System.cpuSeconds(pid: pid) ?? 0 }

    /// Closes the server's stdin (it exits), then makes sure it is gone.
    func stop() {
        try? stdinPipe.fileHandleForWriting.close()
        let deadline = Date().addingTimeInterval(3)
        while process.isRunning, Date() < deadline { usleep(20_000) }
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
    }
}

struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
