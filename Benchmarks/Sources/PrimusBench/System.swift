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

    /// The first `name` on `PATH` that can be executed (then /usr/bin, /usr/local/bin).
    static func findExecutable(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        let directories = path.split(separator: ":").map(String.init) + ["/usr/bin", "/usr/local/bin"]
        return directories.map { $0 + "/" + name }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    static var executablePath: String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }
}

/// A server subprocess: this binary re-executed with `server <kind> <mode>`, or for the `ws`
/// peer `node Benchmarks/peers/ws-server.js <mode>`. It prints its port, then serves until its
/// standard input closes (so it never outlives the benchmark).
final class ServerProcess {
    let kind: ServerKind
    let process = Process()
    let port: Int
    private let stdinPipe = Pipe()
    private let stdoutPipe = Pipe()

    /// Starts the server; throws ``PeerUnavailable`` when a peer is not installed or not built
    /// here (reported, not an error), ``BenchError`` when it does not start.
    /// `arguments` follow the mode (``ClusterNodeSettings/arguments`` for `primus-redis`).
    init(kind: ServerKind, mode: ServerMode = .echo, arguments: [String] = []) throws {
        self.kind = kind
        switch kind {
        case .ws:
            guard let node = System.findExecutable("node") else { throw PeerUnavailable("not installed (no node)") }
            guard let script = Peers.wsServerScript else {
                throw PeerUnavailable("not installed (Benchmarks/peers/ws-server.js not found; set PRIMUS_BENCH_PEERS)")
            }
            process.executableURL = URL(fileURLWithPath: node)
            process.arguments = [script, mode.rawValue]
        case .primusVapor:
            #if !VaporPeer
            throw PeerUnavailable("not built (VaporPeer trait off)")
            #else
            process.executableURL = URL(fileURLWithPath: System.executablePath)
            process.arguments = ["server", kind.rawValue, mode.rawValue]
            #endif
        case .hummingbird, .primusHummingbird:
            #if !HummingbirdPeer
            throw PeerUnavailable("not built (HummingbirdPeer trait off)")
            #else
            process.executableURL = URL(fileURLWithPath: System.executablePath)
            process.arguments = ["server", kind.rawValue, mode.rawValue]
            #endif
        default:
            process.executableURL = URL(fileURLWithPath: System.executablePath)
            process.arguments = ["server", kind.rawValue, mode.rawValue] + arguments
        }
        process.standardInput = stdinPipe
        process.standardOutput = stdoutPipe
        process.standardError = FileHandle.standardError
        try process.run()
        self.port = try Self.readPort(from: stdoutPipe.fileHandleForReading, process: process, kind: kind)
    }

    /// Reads the server's output up to `PORT <n>` (or the ws peer's `MISSING <why>`).
    private static func readPort(from reader: FileHandle, process: Process, kind: ServerKind) throws -> Int {
        var text = ""
        while true {
            let lines = text.split(separator: "\n", omittingEmptySubsequences: true)
            let complete = text.hasSuffix("\n") ? lines[...] : lines.dropLast()
            if let line = complete.first(where: { $0.hasPrefix("PORT ") || $0.hasPrefix("MISSING ") }) {
                if line.hasPrefix("MISSING ") {
                    process.waitUntilExit()
                    throw PeerUnavailable("not installed (\(line.dropFirst(8)))")
                }
                guard let port = Int(line.dropFirst(5)) else { throw BenchError("unexpected server output: \(text)") }
                return port
            }
            let chunk = reader.availableData
            if chunk.isEmpty {
                throw BenchError("the \(kind.rawValue) server exited before listening" + (text.isEmpty ? "" : ": \(text)"))
            }
            text += String(decoding: chunk, as: UTF8.self)
        }
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

/// Where the peers that are not this binary live.
enum Peers {
    /// `ws-server.js`: `$PRIMUS_BENCH_PEERS/ws-server.js`, else `Benchmarks/peers/` found from
    /// this source file's path (where the package was built), else from the working directory.
    static var wsServerScript: String? {
        var candidates: [String] = []
        if let directory = ProcessInfo.processInfo.environment["PRIMUS_BENCH_PEERS"] {
            candidates.append(directory + "/ws-server.js")
        }
        // #filePath is Benchmarks/Sources/PrimusBench/System.swift.
        let sources = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        candidates.append(sources.deletingLastPathComponent().appendingPathComponent("peers/ws-server.js").path)
        let cwd = FileManager.default.currentDirectoryPath
        candidates += [cwd + "/Benchmarks/peers/ws-server.js", cwd + "/peers/ws-server.js"]
        return candidates.first { FileManager.default.isReadableFile(atPath: $0) }
    }
}

/// A peer that cannot run on this machine (not installed, not built): its column says why, and
/// the run goes on.
struct PeerUnavailable: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
