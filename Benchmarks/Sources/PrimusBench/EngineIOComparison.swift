import NIOPosix

extension PrimusBench {
    /// `engineio`: what Engine.IO costs per packet against Primus over websockets, with 10, 100
    /// and 10,000 packets per request (in flight per session: over polling that is about how
    /// many packets each `POST` and each poll response carries; over a WebSocket, how many
    /// messages each read brings). Returns the number of errors.
    static func engineIO(_ options: Options, group: MultiThreadedEventLoopGroup) async -> Int {
        let targets = options.engineIOTargets
        var errors = 0
        var table: [(batch: Int, byTarget: [LoadTarget: [Outcome<ThroughputResult>]])] = []
        for batch in options.engineIOBatches {
            let scenario = LoadScenario(name: "engineio", shape: .echo(connections: options.engineIOConnections, inFlight: batch))
            print("Engine.IO: \(scenario.title); \(format(options.warmup, 1)) s warm-up, "
                + "\(format(options.duration, 1)) s measured, \(options.rounds) round(s)")
            let results = await measureRounds(scenario, targets: targets, options: options, group: group)
            errors += results.errors
            table.append((batch, results.byTarget))
        }
        print("")
        print("Server CPU us per packet (per message over a WebSocket), means of the rounds:")
        let baseline = targets.first ?? .primus
        let rows: [[String]] = table.map { entry in
            var row = ["\(entry.batch)"]
            let base = mean(entry.byTarget[baseline], \.serverMicros)
            for target in targets {
                let micros = mean(entry.byTarget[target], \.serverMicros)
                row.append(micros.map { format($0, 2) } ?? reason(entry.byTarget[target]))
                if target != baseline { row.append(ratio(micros, base)) }
            }
            if targets.contains(.engineIOPolling) {
                row.append(mean(entry.byTarget[.engineIOPolling], { $0.packetsPerPost ?? 0 }).map { format($0, 1) } ?? "n/a")
            }
            return row
        }
        var header = ["packets/request"]
        for target in targets {
            header.append(target.rawValue + " us")
            if target != baseline { header.append("/ \(baseline.rawValue)") }
        }
        if targets.contains(.engineIOPolling) { header.append("polling packets/POST") }
        printTable(header: header, rows: rows)
        print("")
        return errors
    }
}
