import NIOPosix

extension PrimusBench {
    /// `socketio`: named events over Socket.IO next to Primus's emitter packets over websockets
    /// (the baseline), as an echo (messages per second and server CPU per message) and as a room
    /// broadcast (deliveries per second and server CPU per delivery), with ratios to the
    /// baseline. Plain data over Socket.IO and Engine.IO ride along for reference. Returns the
    /// number of errors.
    static func socketIO(_ options: Options, group: MultiThreadedEventLoopGroup) async -> Int {
        var errors = 0
        if options.scenarios.contains("echo") {
            let targets = options.socketIOTargets
            let scenario = LoadScenario(name: "socketio", shape: .echo(connections: options.connections, inFlight: options.inFlight))
            print("Socket.IO: event echo, \(scenario.title); {\"seq\":N,\"payload\":\"hello\"} as the event's argument "
                + "(or as data); \(format(options.warmup, 1)) s warm-up, \(format(options.duration, 1)) s measured, \(options.rounds) round(s)")
            let results = await measureRounds(scenario, targets: targets, options: options, group: group)
            errors += results.errors
            printRatioTable(results.byTarget, targets: targets, unit: scenario.unit)
        }
        let roomTargets = options.roomTargets
        if options.scenarios.contains("room"), !roomTargets.isEmpty {
            let scenario = LoadScenario(
                name: "room",
                shape: .room(subscribers: options.subscribers, messages: options.fanoutMessages, window: options.fanoutWindow)
            )
            print("Socket.IO: \(scenario.title); the publisher emits `publish` (events) or `publish-data` (data), "
                + "the server emits `tick` to the room (or writes the data); every delivery checked; \(options.rounds) round(s)")
            let results = await measureRounds(scenario, targets: roomTargets, options: options, group: group)
            errors += results.errors
            printRatioTable(results.byTarget, targets: roomTargets, unit: scenario.unit)
        }
        return errors
    }

    /// The means of the rounds for each target, with each rate and CPU cost divided by the
    /// first target's (the baseline); `extra` adds a column.
    static func printRatioTable(
        _ byTarget: [LoadTarget: [Outcome<ThroughputResult>]],
        targets: [LoadTarget],
        unit: String,
        extra: (header: String, value: ([Outcome<ThroughputResult>]?) -> String)? = nil
    ) {
        let baseline = targets.first ?? .primus
        let baseRate = mean(byTarget[baseline], \.perSecond)
        let baseMicros = mean(byTarget[baseline], \.serverMicros)
        let rows: [[String]] = targets.map { target in
            let outcomes = byTarget[target]
            guard let rate = mean(outcomes, \.perSecond), let micros = mean(outcomes, \.serverMicros),
                let cpu = mean(outcomes, \.serverCPU), let client = mean(outcomes, \.clientCPU)
            else {
                return [target.rawValue, reason(outcomes), "", "", "", "", ""] + (extra == nil ? [] : [""])
            }
            return [
                target.rawValue, format(rate, 0), ratio(rate, baseRate), format(micros, 2), ratio(micros, baseMicros),
                format(cpu * 100, 0) + "%", format(client * 100, 0) + "%",
            ] + (extra.map { [$0.value(outcomes)] } ?? [])
        }
        print("")
        print("Means of the rounds (/ \(baseline.rawValue): the figure divided by \(baseline.rawValue)'s):")
        printTable(
            header: [
                "server", "\(unit)/s", "/ \(baseline.rawValue)", "server CPU us/\(unit)", "/ \(baseline.rawValue)", "server CPU", "client CPU",
            ] + (extra.map { [$0.header] } ?? []),
            rows: rows
        )
        print("")
    }
}
