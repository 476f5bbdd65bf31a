import NIOPosix

extension PrimusBench {
    /// `mounting`: the same echo through the standalone listener (`PrimusHTTPServer`, the
    /// baseline), through Primus mounted on Hummingbird 2 and through Primus mounted on Vapor 4:
    /// messages per second and server CPU per message, with their ratios to standalone. Returns
    /// the number of errors.
    static func mounting(_ options: Options, group: MultiThreadedEventLoopGroup) async -> Int {
        let targets = options.mountingTargets
        let scenario = LoadScenario(name: "mounting", shape: .echo(connections: options.connections, inFlight: options.inFlight))
        print("Mounting: \(scenario.title); {\"seq\":N,\"payload\":\"hello\"} echoed over websockets; "
            + "\(format(options.warmup, 1)) s warm-up, \(format(options.duration, 1)) s measured, \(options.rounds) round(s)")
        let results = await measureRounds(scenario, targets: targets, options: options, group: group)
        printRatioTable(results.byTarget, targets: targets, unit: "msg")
        return results.errors
    }
}
