import PrimusServer

extension PrimusConfiguration {
    /// The engine.io transformer's options, adjusted in place by tests
    /// (`$0.engineIO.pingInterval = …` makes the transformer engine.io with those options).
    var engineIO: EngineIOOptions {
        get { transformer.engineIOOptions ?? EngineIOOptions() }
        set { transformer = .engineIO(newValue) }
    }
}
