import Foundation
import NIOCore
import NIOPosix
import PrimusCore
import PrimusRedis

/// The cluster benchmark's redis-server: Debian's `redis-server` on a free port on 127.0.0.1,
/// without persistence (no RDB snapshots, no AOF), logging to a file in a temporary directory.
///
/// It runs under a small `sh` that holds this process's pipe on its standard input and kills
/// redis-server when the pipe closes, so Redis never outlives the benchmark, even one that
/// crashed. ``pid`` is redis-server's own process (for its CPU time), not the shell's.
final class RedisServerProcess {
    let port: Int
    let pid: Int32
    /// `redis-server --version`'s `v=` part, e.g. `7.0.15`.
    let version: String
    private let wrapper = Process()
    private let stdinPipe = Pipe()
    private let directory: URL

    var url: String { "redis://127.0.0.1:\(port)" }
    var cpuSeconds: Double { System.cpuSeconds(pid: pid) ?? 0 }

    /// Starts redis-server and returns once it answers `PING`; throws ``BenchError`` when it is
    /// not installed or does not come up within 10 s (with the end of its log).
    init() async throws {
        guard let executable = System.findExecutable("redis-server") else {
            throw BenchError("redis-server not installed (apt-get install redis-server); the cluster benchmark needs it")
        }
        version = Self.version(of: executable)
        port = try await Self.freeLoopbackPort()
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("primus-bench-redis-\(getpid())-\(port)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let log = directory.appendingPathComponent("redis.log").path
        wrapper.executableURL = URL(fileURLWithPath: "/bin/sh")
        wrapper.arguments = [
            "-c",
            #""$0" "$@" </dev/null >/dev/null 2>&1 & echo "PID $!"; cat >/dev/null; kill $! 2>/dev/null; wait $!"#,
            executable,
            "--bind", "127.0.0.1", "--port", String(port),
            "--save", "", "--appendonly", "no",
            "--dir", directory.path, "--logfile", log, "--daemonize", "no",
        ]
        let stdoutPipe = Pipe()
        wrapper.standardInput = stdinPipe
        wrapper.standardOutput = stdoutPipe
        wrapper.standardError = FileHandle.standardError
        try wrapper.run()
        pid = try Self.readPID(from: stdoutPipe.fileHandleForReading)
        do {
            try await waitUntilReady(log: log)
        } catch {
            stop()
            throw error
        }
    }

    /// Closes the shell's standard input (it kills redis-server), then makes sure both are gone.
    func stop() {
        try? stdinPipe.fileHandleForWriting.close()
        let deadline = Date().addingTimeInterval(5)
        while wrapper.isRunning, Date() < deadline { usleep(20_000) }
        if wrapper.isRunning {
            kill(pid, SIGKILL)
            wrapper.terminate()
        }
        wrapper.waitUntilExit()
        try? FileManager.default.removeItem(at: directory)
    }

    /// Connects with PrimusRedis's own client until redis-server answers `PING`.
    private func waitUntilReady(log: String) async throws {
        let client = RedisClient(configuration: try RedisConfiguration(url: url))
        client.start()
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(10)
        var answered = false
        while clock.now < deadline, kill(pid, 0) == 0 {
            if client.isConnected, (try? await client.send(["PING"]))?.string == "PONG" {
                answered = true
                break
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        await client.shutdown()
        guard answered else {
            let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            let tail = text.split(separator: "\n").suffix(5).joined(separator: "\n    ")
            throw BenchError("redis-server on 127.0.0.1:\(port) did not answer PING within 10 s" + (tail.isEmpty ? "" : "; its log ends:\n    \(tail)"))
        }
    }

    /// The shell's first line, `PID <n>`.
    private static func readPID(from reader: FileHandle) throws -> Int32 {
        var text = ""
        while !text.contains("\n") {
            let chunk = reader.availableData
            if chunk.isEmpty { break }
            text += String(decoding: chunk, as: UTF8.self)
        }
        guard let line = text.split(separator: "\n").first, line.hasPrefix("PID "), let pid = Int32(line.dropFirst(4)) else {
            throw BenchError("redis-server did not start: \(text)")
        }
        return pid
    }

    /// A port nothing listens on now: bind port 0 on 127.0.0.1, read the port, close.
    private static func freeLoopbackPort() async throws -> Int {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: 0).get()
        let port = channel.localAddress?.port
        try await channel.close()
        guard let port else { throw BenchError("no free port on 127.0.0.1") }
        return port
    }

    private static func version(of executable: String) -> String {
        let process = Process()
        let output = Pipe()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["--version"]
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return "unknown version" }
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        // "Redis server v=7.0.15 sha=00000000:0 malloc=jemalloc-5.3.0 bits=64 build=..."
        return text.split(separator: " ").first { $0.hasPrefix("v=") }.map { String($0.dropFirst(2)) } ?? "unknown version"
    }
}
