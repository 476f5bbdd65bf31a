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
        printRatioTable(results.byTarget, targets: targets, unit: "msg", extra: (
            header: "msgs per xhr_send",
            value: { outcomes in mean(outcomes, { $0.packetsPerPost ?? 0 }).flatMap { $0 > 0 ? format($0, 1) : nil } ?? "" }
        ))
        return results.errors
    }
}
