import Foundation
import NIOCore
import NIOPosix

@main
struct PrimusBench {
    static func main() async {
        let arguments = Array(CommandLine.arguments.dropFirst())
        do {
            if arguments.first == "server" {
                // server <kind> [mode] [cluster node arguments: --redis URL --node-id ID ...]
                let hasMode = arguments.count >= 3 && !arguments[2].hasPrefix("--")
                guard arguments.count >= 2, let kind = ServerKind(rawValue: arguments[1]),
                    let mode = ServerMode(rawValue: hasMode ? arguments[2] : "echo")
                else {
                    throw BenchError(usage)
                }
                let cluster = try ClusterNodeSettings(parsing: Array(arguments.dropFirst(hasMode ? 3 : 2)))
                guard (kind == .primusRedis) == (cluster != nil) else {
                    throw BenchError(kind == .primusRedis ? "the primus-redis server needs --redis URL --node-id ID" : "only primus-redis takes cluster arguments")
                }
                try await runServer(kind, mode: mode, cluster: cluster)
                return
            }
            let errors = try await runBenchmarks(try Options(arguments))
            if errors > 0 {
                FileHandle.standardError.write(Data("primus-bench: \(errors) error(s): see ERROR(S) above\n".utf8))
                exit(1)
            }
        } catch {
            FileHandle.standardError.write(Data("primus-bench: \(error)\n".utf8))
            exit(1)
        }
    }

    /// Runs the modes asked for; returns how many errors the scenarios met.
    static func runBenchmarks(_ options: Options) async throws -> Int {
        let limit = System.raiseFileLimit(
            to: UInt64(max(options.idle, options.connections, options.wideConnections, options.subscribers, options.clusterNodes * options.clusterSubscribers) + 4096)
        )
        #if DEBUG
        print("warning: debug build; run with -c release for meaningful figures\n")
        #endif
        print("primus-bench on \(System.coreCount) cores (\(System.cpuModel)), \(System.kernel)")
        print("servers and the load generator run in separate processes but share these \(System.coreCount) cores;")
        print("the Swift servers use NIO's default group (\(System.coreCount) threads), Node ws one thread, the load generator \(options.clientThreads).")
        let load = System.loadAverage
        print("load average before the run: \(load)" + (Double(load.split(separator: " ").first ?? "") ?? 0 > 0.5
            ? "  (WARNING: the machine is busy; throughput figures will be low and noisy)" : ""))
        print("")
        let clock = ContinuousClock()
        let started = clock.now
        let all = options.mode == "all" || options.mode == "smoke"

        if all || options.mode == "codec" {
            CodecBenchmark.run(iterations: options.codecIterations)
        }
        if all || options.mode == "polling-queue" {
            PollingQueueBenchmark.run(packetsPerRun: options.pollingQueuePackets)
        }
        var errors = 0
        let group = MultiThreadedEventLoopGroup(numberOfThreads: options.clientThreads)
        if all || options.mode == "throughput" {
            errors += await throughput(options, group: group)
        }
        if all || options.mode == "memory" {
            let wanted = UInt64(max(options.idle, options.subscribers, options.wideConnections) + 100)
            if limit >= wanted {
                errors += await memory(options, group: group)
            } else {
                print("ERROR: RLIMIT_NOFILE is \(limit), too low for \(options.idle) connections\n")
                errors += 1
            }
        }
        if all || options.mode == "engineio" {
            errors += await engineIO(options, group: group)
        }
        if all || options.mode == "sockjs" {
            errors += await sockJS(options, group: group)
        }
        if all || options.mode == "socketio" {
            errors += await socketIO(options, group: group)
        }
        if all || options.mode == "mounting" {
            errors += await mounting(options, group: group)
        }
        if all || options.mode == "cluster" {
            errors += await cluster(options, group: group)
        }
        try? await group.shutdownGracefully()
        print("primus-bench \(options.mode): \(errors) error(s), \(format(seconds(clock.now - started), 0)) s")
        return errors
    }

    // MARK: - Helpers

    static func closeAll(_ channels: [any Channel], group: MultiThreadedEventLoopGroup) async throws {
        let futures = channels.map { $0.close() }
        try await EventLoopFuture.andAllComplete(futures, on: group.next()).get()
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    static func format(_ value: Double, _ decimals: Int) -> String {
        String(format: "%.\(decimals)f", value)
    }

    static func pad(_ text: String, _ width: Int, right: Bool = false) -> String {
        let padding = String(repeating: " ", count: max(0, width - text.count))
        return right ? padding + text : text + padding
    }

    static func printTable(header: [String], rows: [[String]]) {
        let widths = header.indices.map { column in
            ([header] + rows).map { $0[column].count }.max() ?? 0
        }
        func line(_ cells: [String]) -> String {
            "  | " + cells.enumerated().map { pad($1, widths[$0], right: $0 > 0) }.joined(separator: " | ") + " |"
        }
        print(line(header))
        print("  |" + widths.enumerated().map { String(repeating: "-", count: $1 + 1) + ($0 > 0 ? ":" : "-") }.joined(separator: "|") + "|")
        for row in rows { print(line(row)) }
    }
}
