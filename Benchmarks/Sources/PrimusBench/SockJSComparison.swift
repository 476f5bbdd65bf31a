import NIOPosix

extension PrimusBench {
    /// `sockjs`: the same echo over Primus websockets (the baseline), over SockJS on a WebSocket
    /// (each message wrapped as `["..."]` and `a["..."]`) and over SockJS XHR (`xhr_streaming`
    /// and `xhr_send`): messages per second and server CPU per message, with their ratios to
    /// websockets. Returns the number of errors.
    static func sockJS(_ options: Options, group: MultiThreadedEventLoopGroup) async -> Int {
        let targets = options.sockJSTargets
        let scenario = LoadScenario(name: "sockjs", shape: .echo(connections: options.connections, inFlight: options.inFlight))
        print("SockJS: \(scenario.title); {\"seq\":N,\"payload\":\"hello\"} echoed; "
            + "\(format(options.warmup, 1)) s warm-up, \(format(options.duration, 1)) s measured, \(options.rounds) round(s)")
        let results = await measureRounds(scenario, targets: targets, options: options, group: group)
        let baseline = targets.first ?? .primus
        let baseRate = mean(results.byTarget[baseline], \.perSecond)
        let baseMicros = mean(results.byTarget[baseline], \.serverMicros)
        let rows: [[String]] = targets.map { target in
            let outcomes = results.byTarget[target]
            guard let rate = mean(outcomes, \.perSecond), let micros = mean(outcomes, \.serverMicros),
                let cpu = mean(outcomes, \.serverCPU), let client = mean(outcomes, \.clientCPU)
            else {
                return [target.rawValue, reason(outcomes), "", "", "", "", "", ""]
            }
            return [
                target.rawValue, format(rate, 0), ratio(rate, baseRate), format(micros, 2), ratio(micros, baseMicros),
                format(cpu * 100, 0) + "%", format(client * 100, 0) + "%",
                mean(outcomes, { $0.packetsPerPost ?? 0 }).flatMap { $0 > 0 ? format($0, 1) : nil } ?? "",
            ]
        }
        print("")
        print("Means of the rounds (/ \(baseline.rawValue): the figure divided by \(baseline.rawValue)'s):")
        printTable(
            header: ["server", "msg/s", "/ \(baseline.rawValue)", "server CPU us/msg", "/ \(baseline.rawValue)", "server CPU", "client CPU", "msgs per xhr_send"],
            rows: rows
        )
        print("")
        return results.errors
    }
}
