import Foundation

let usage = """
    usage: primus-bench [all|throughput|memory|codec|engineio|sockjs|socketio|mounting|cluster|polling-queue|smoke] [options]
           primus-bench server <raw|primus|msgpack|engine.io|sockjs|socket.io|hummingbird|primus-hummingbird|primus-vapor> [echo|fanout|events]
           primus-bench server primus-redis [echo|fanout|events] --redis URL --node-id ID [--prefix P] [--recover-count N]
                                                     (internal: one server process)

    Compares the Primus server (websockets transformer, JSON parser) with raw WebSocket servers
    that have no Primus layer, in the same run: raw NIOWebSocket (the baseline), raw Node `ws`
    (Benchmarks/peers/ws-server.js, Debian's node-ws) and raw Hummingbird 2 (HummingbirdPeer
    trait). Every figure is printed with its ratio to raw NIO and to raw ws.
    Each server runs in its own process; this process is the load generator. 127.0.0.1 only.

    throughput: three scenarios, servers interleaved in every round
      echo        --connections N (default 100) x --in-flight N (default 10) messages in flight
      echo-wide   --wide-connections N (default 1000) x 1 message in flight
      fanout      --subscribers N (default 1000) x --messages N (default 1000) broadcasts, the
                  publisher keeping --fanout-window N (default 4) broadcasts in flight
      --scenario S[,S...]  run these scenarios only (echo, echo-wide, fanout)
      --warmup S           echo: seconds of load before measuring (default 5)
      --duration S         echo: measured seconds (default 10)
      --rounds N           rounds; each measures every server once (default 2)
      --client-threads N   load generator event loop threads (default: cores)
      --only T[,T...]      these targets only: primus, raw, ws, hummingbird, msgpack,
                           eio-websocket, eio-polling, sockjs-websocket, sockjs-xhr,
                           browserchannel, primus-events, sio-events, sio-data,
                           primus-hummingbird, primus-vapor
      --port P             echo: load an already running server on 127.0.0.1:P instead of
                           starting one (e.g. under valgrind; needs --only with one target)
      --server-pid PID     with --port: that server's process, to measure its CPU
    memory: idle memory per connection of every server
      --idle N             idle connections (default 10000)
      --window N           concurrent handshakes while opening them (default 200)
      --header-bytes N     add an N-byte header to each handshake (default 0)
    engineio: Engine.IO polling and WebSocket against Primus websockets, server CPU per packet
      --batches N[,N...]   packets per request (in flight per session; default 10,100,10000)
      --eio-connections N  sessions (default 10)
    sockjs: SockJS over a WebSocket and over XHR (xhr_streaming + xhr_send) against Primus
            websockets, echo --connections N (default 100) x --in-flight N (default 10);
            messages per second and server CPU per message, with ratios to websockets
    socketio: named events over Socket.IO (socket.io transformer, WebSocket) against Primus
            emitter packets over websockets (the baseline), with ratios to it:
      echo        event echo, --connections N x --in-flight N; targets primus-events (the
                  baseline), sio-events (42["echo",...]), sio-data (42["message",...], data to
                  Primus) and eio-websocket (engine.io data); messages/s, server CPU per message
      room        --subscribers N sockets join one room, the publisher emits --messages N
                  events the server emits to the room (primus-events, sio-events) or writes to it
                  as data (sio-data, primus), --fanout-window N in flight; deliveries/s
      --scenario echo,room  (default both)
    mounting: the same Primus echo (websockets, JSON) through the standalone PrimusHTTPServer,
            mounted on Hummingbird 2 (PrimusHummingbird) and on Vapor 4 (PrimusVapor), echo
            --connections N x --in-flight N; messages per second and server CPU per message,
            with ratios to standalone (targets primus, primus-hummingbird, primus-vapor)
    cluster: fan-out across Primus server processes that share one redis-server (started here
            from /usr/bin/redis-server on a free loopback port, no persistence; missing: an
            ERROR), next to the same subscribers on one node without Redis (the baseline):
            deliveries/s, delivery latency p50/p99 (publish on node 1 to receipt), server CPU
            per delivery (all nodes summed) and its ratio to the baseline, redis-server CPU per
            broadcast; every subscriber checks it gets every broadcast once, in order
      --cluster-nodes N        server processes (default 3)
      --cluster-subscribers N  subscribers per node (default 1000); the baseline node gets
                               all of them
      --cluster-messages N     broadcasts, issued on node 1 (default 1000), --fanout-window N
                               in flight (default 4)
      --cluster-recover N      nodes keep a recovery backlog of N broadcasts (a Redis stream;
                               default 0, off: one PUBLISH per broadcast)
      --rounds N               rounds, each measuring the baseline and the cluster (default 2)
    polling-queue: an Engine.IO polling session's cost per packet, sans-I/O, one thread
    smoke: every scenario and server for about 1-2 s each at small sizes (echo 50 x 10 and
           50 x 1, fan-out 50 x 50, 200 idle, Engine.IO 2 sessions, SockJS and Socket.IO
           50 x 10, room 50 x 50, cluster 3 x 20 subscribers x 50 messages); no thresholds;
           exits 1 only when a scenario errs (a peer not installed here is reported, not an
           error; redis-server missing is an error)
    all: codec, throughput, memory, engineio, sockjs, socketio, mounting, cluster and polling-queue with the defaults
    """

/// The command line, with every size the scenarios use.
struct Options {
    var mode = "all"
    var connections = 100
    var inFlight = 10
    var wideConnections = 1_000
    var subscribers = 1_000
    var fanoutMessages = 1_000
    var fanoutWindow = 4
    var scenarios: Set<String> = ["echo", "echo-wide", "fanout", "room"]
    var warmup = 5.0
    var duration = 10.0
    var rounds = 2
    var clientThreads = System.coreCount
    var idle = 10_000
    var window = 200
    var headerBytes = 0
    var engineIOBatches = [10, 100, 10_000]
    var engineIOConnections = 10
    var codecIterations = 200_000
    var clusterNodes = 3
    var clusterSubscribers = 1_000
    var clusterMessages = 1_000
    var clusterRecover = 0
    var pollingQueuePackets = 200_000
    var targets: [LoadTarget]?
    var port: Int?
    var serverPID: Int32?

    init(_ arguments: [String]) throws {
        var iterator = arguments.makeIterator()
        func value(_ name: String) throws -> String {
            guard let value = iterator.next() else { throw BenchError("\(name) needs a value") }
            return value
        }
        func int(_ name: String) throws -> Int {
            guard let number = Int(try value(name)), number > 0 else { throw BenchError("\(name) needs a positive integer") }
            return number
        }
        func seconds(_ name: String) throws -> Double {
            guard let number = Double(try value(name)), number >= 0 else { throw BenchError("\(name) needs seconds") }
            return number
        }
        while let argument = iterator.next() {
            switch argument {
            case "all", "throughput", "memory", "codec", "engineio", "sockjs", "socketio", "mounting", "cluster", "polling-queue":
                mode = argument
            case "smoke":
                mode = argument
                applySmokeSizes()
            case "--connections": connections = try int(argument)
            case "--in-flight": inFlight = try int(argument)
            case "--wide-connections": wideConnections = try int(argument)
            case "--subscribers": subscribers = try int(argument)
            case "--messages": fanoutMessages = try int(argument)
            case "--fanout-window": fanoutWindow = try int(argument)
            case "--scenario":
                let names = try value(argument).split(separator: ",").map(String.init)
                guard names.allSatisfy({ ["echo", "echo-wide", "fanout", "room"].contains($0) }) else {
                    throw BenchError("--scenario takes echo, echo-wide, fanout, room (socketio), or several joined by commas")
                }
                scenarios = Set(names)
            case "--warmup": warmup = try seconds(argument)
            case "--duration": duration = max(try seconds(argument), 0.1)
            case "--rounds": rounds = try int(argument)
            case "--client-threads": clientThreads = try int(argument)
            case "--idle": idle = try int(argument)
            case "--window": window = try int(argument)
            case "--header-bytes": headerBytes = try int(argument)
            case "--batches":
                engineIOBatches = try value(argument).split(separator: ",").map { text in
                    guard let number = Int(text), number > 0 else { throw BenchError("--batches takes positive integers") }
                    return number
                }
            case "--eio-connections": engineIOConnections = try int(argument)
            case "--cluster-nodes": clusterNodes = try int(argument)
            case "--cluster-subscribers": clusterSubscribers = try int(argument)
            case "--cluster-messages": clusterMessages = try int(argument)
            case "--cluster-recover":
                guard let count = Int(try value(argument)), count >= 0 else { throw BenchError("--cluster-recover needs a count") }
                clusterRecover = count
            case "--only":
                targets = try value(argument).split(separator: ",").map { name in
                    guard let target = LoadTarget(rawValue: String(name)) else {
                        throw BenchError("--only takes \(LoadTarget.allCases.map(\.rawValue).joined(separator: ", ")), or several joined by commas")
                    }
                    return target
                }
            case "--port": port = try int(argument)
            case "--server-pid": serverPID = Int32(try int(argument))
            case "-h", "--help": print(usage); exit(0)
            default: throw BenchError("unknown argument \(argument)\n\n\(usage)")
            }
        }
        if port != nil, targets?.count != 1 || !["throughput", "engineio", "sockjs", "socketio", "mounting"].contains(mode) {
            throw BenchError("--port needs `throughput`, `engineio`, `sockjs` or `socketio` and --only with one target")
        }
    }

    /// `smoke`: every scenario at small sizes, about 1-2 s each (later options still apply).
    private mutating func applySmokeSizes() {
        connections = 50
        inFlight = 10
        wideConnections = 50
        subscribers = 50
        fanoutMessages = 50
        warmup = 0.5
        duration = 1.5
        rounds = 1
        idle = 200
        engineIOConnections = 2
        codecIterations = 20_000
        pollingQueuePackets = 20_000
        clusterSubscribers = 20
        clusterMessages = 50
    }

    /// The servers that `throughput` and `memory` compare: `--only`, else Primus and the three
    /// raw peers.
    var peerTargets: [LoadTarget] {
        targets ?? [.primus, .raw, .ws, .hummingbird]
    }

    /// What `engineio` compares: `--only`, else Primus over websockets, then Engine.IO over
    /// WebSocket and polling, then BrowserChannel (long-polling over HTTP too).
    var engineIOTargets: [LoadTarget] {
        targets ?? [.primus, .engineIOWebSocket, .engineIOPolling, .browserChannel]
    }

    /// What `sockjs` compares: `--only`, else Primus over websockets, then SockJS over a
    /// WebSocket and over XHR.
    var sockJSTargets: [LoadTarget] {
        targets ?? [.primus, .sockJSWebSocket, .sockJSXHR]
    }

    /// What `mounting` compares: `--only`, else standalone Primus websockets, then the same
    /// Primus mounted on Hummingbird and on Vapor.
    var mountingTargets: [LoadTarget] {
        targets ?? [.primus, .primusHummingbird, .primusVapor]
    }

    /// What `socketio`'s echo compares: `--only`, else Primus events over websockets, then
    /// Socket.IO events, Socket.IO data and Engine.IO data.
    var socketIOTargets: [LoadTarget] {
        targets ?? [.primusEvents, .socketIOEvents, .socketIOData, .engineIOWebSocket]
    }

    /// What `socketio`'s room broadcast compares: those of `--only` that can join a room, else
    /// Primus events over websockets, Socket.IO events, Socket.IO data and Primus data.
    var roomTargets: [LoadTarget] {
        (targets ?? [.primusEvents, .socketIOEvents, .socketIOData, .primus]).filter {
            [.primus, .primusEvents, .socketIOEvents, .socketIOData].contains($0)
        }
    }

    /// What the memory run measures (never polling).
    var memoryTargets: [LoadTarget] {
        peerTargets.filter { $0 != .engineIOPolling && $0 != .sockJSXHR && $0 != .browserChannel }
    }
}
