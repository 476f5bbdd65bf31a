import NIOConcurrencyHelpers
import NIOCore
import NIOWebSocket
import PrimusCore
import PrimusServer
import Testing

// Frame-level checks of the `socket.io` transformer over a real WebSocket on loopback: what the
// official clients (Interop/socketio) do not show byte for byte.

private let webSocketTarget = "/primus/?EIO=4&transport=websocket"

private func socketIO(_ configuration: inout PrimusConfiguration, _ adjust: (inout SocketIOOptions) -> Void = { _ in }) {
    var options = SocketIOOptions()
    options.namespaces = ["/", "/admin"]
    adjust(&options)
    configuration.transformer = .socketIO(options)
}

/// Opens a connection and reads the Engine.IO open packet.
private func open(_ port: Int) async throws -> TestWebSocket {
    let socket = try await TestWebSocket.connect(port: port, target: webSocketTarget)
    let open = try #require(try await socket.nextText())
    #expect(open.hasPrefix(#"0{"sid":""#))
    return socket
}

/// Joins `namespace` and returns the socket id the server answered.
private func join(_ socket: TestWebSocket, _ namespace: String = "/") async throws -> String {
    let prefix = namespace == "/" ? "" : namespace + ","
    try await socket.send("40" + prefix)
    let answer = try #require(try await socket.nextText())
    #expect(answer.hasPrefix("40" + prefix + #"{"sid":""#))
    let json = try JSONReader.parse(String(answer.dropFirst(2 + prefix.count)))
    return try #require(json["sid"]?.stringValue)
}

@Suite("socket.io transformer, live on loopback")
struct SocketIOTransformerTests {
    @Test func eachNamespaceIsASparkWhoseIDIsTheSocketID() async throws {
        let seen = NIOLockedValueBox<[String: String]>([:])
        try await withPrimusServer({ socketIO(&$0) }, setup: { primus in
            primus.onConnection { spark in
                seen.withLockedValue { $0[spark.namespace] = spark.id }
                spark.onMessage { message in spark.write(message.value) }
            }
        }) { port, primus in
            let socket = try await open(port)
            let main = try await join(socket)
            let admin = try await join(socket, "/admin")
            #expect(seen.withLockedValue { $0 } == ["/": main, "/admin": admin])
            #expect(primus.sparks.count == 2)
            // Data is the `message` event, on its own namespace.
            try await socket.send(#"42/admin,["message",{"a":[1,"é"]}]"#)
            #expect(try await socket.nextText() == #"42/admin,["message",{"a":[1,"é"]}]"#)
            try await socket.send(#"42["message","plain"]"#)
            #expect(try await socket.nextText() == #"42["message","plain"]"#)
            // A broadcast reaches both sparks, each framed for its namespace.
            primus.write(["news": 1])
            var broadcast = [try #require(try await socket.nextText()), try #require(try await socket.nextText())]
            broadcast.sort()
            #expect(broadcast == [#"42/admin,["message",{"news":1}]"#, #"42["message",{"news":1}]"#])
        }
    }

    @Test func roomEmitsAndBroadcastEventsAreNativeEventsOnEveryNamespace() async throws {
        try await withPrimusServer({ socketIO(&$0) }, setup: { primus in
            primus.onConnection { spark in spark.join("r") }
        }) { port, primus in
            let first = try await open(port)
            _ = try await join(first)
            _ = try await join(first, "/admin")
            let second = try await open(port)
            let secondID = try await join(second)
            try await waitUntil { primus.room("r").sparkIDs.count == 3 }
            primus.room("r").emit("tick", 1, ["n": "x"])
            var firstGot = [try #require(try await first.nextText()), try #require(try await first.nextText())]
            firstGot.sort()
            #expect(firstGot == [#"42/admin,["tick",1,{"n":"x"}]"#, #"42["tick",1,{"n":"x"}]"#])
            #expect(try await second.nextText() == #"42["tick",1,{"n":"x"}]"#)
            // Bytes in a broadcast event go out as attachments, spark by spark.
            primus.room("r").except(secondID).emit("blob", .binary(ByteBuffer(bytes: [9])))
            var texts: [String] = []
            for _ in 0..<4 {
                let frame = try #require(try await first.nextFrame())
                if frame.opcode == .text { texts.append(String(buffer: frame.unmaskedData)) } else { #expect(Array(frame.unmaskedData.readableBytesView) == [9]) }
            }
            texts.sort()
            #expect(texts == [#"451-/admin,["blob",{"_placeholder":true,"num":0}]"#, #"451-["blob",{"_placeholder":true,"num":0}]"#])
        }
    }

    @Test func eventsAndAcknowledgementsAreNativeWithBytesAsAttachments() async throws {
        try await withPrimusServer({ socketIO(&$0) }, setup: { primus in
            primus.onConnection { spark in
                spark.on("upload") { event in event.ack?.send(arguments: event.args) }
                spark.on("ready") { _ in spark.emit("file", .binary(ByteBuffer(bytes: [1, 2, 3])), ["name": "x"]) }
            }
        }) { port, _ in
            let socket = try await open(port)
            _ = try await join(socket)
            try await socket.send(#"451-7["upload",{"_placeholder":true,"num":0},"tag"]"#)
            try await socket.send(frame: WebSocketFrame(fin: true, opcode: .binary, maskKey: .random(), data: ByteBuffer(bytes: [0xFF, 0x00])))
            #expect(try await socket.nextText() == #"461-7[{"_placeholder":true,"num":0},"tag"]"#)
            let attachment = try #require(try await socket.nextFrame())
            #expect(attachment.opcode == .binary)
            #expect(Array(attachment.unmaskedData.readableBytesView) == [0xFF, 0x00])

            try await socket.send(#"42["ready"]"#)
            #expect(try await socket.nextText() == #"451-["file",{"_placeholder":true,"num":0},{"name":"x"}]"#)
            let file = try #require(try await socket.nextFrame())
            #expect(Array(file.unmaskedData.readableBytesView) == [1, 2, 3])
        }
    }

    @Test func endIsADisconnectAndEndWithReconnectClosesTheConnection() async throws {
        try await withPrimusServer({ socketIO(&$0) }, setup: { primus in
            primus.onConnection { spark in
                spark.onMessage { message in
                    spark.end(reconnect: message.value.stringValue == "reconnect")
                }
            }
        }) { port, primus in
            let socket = try await open(port)
            _ = try await join(socket)
            _ = try await join(socket, "/admin")
            try await socket.send(#"42/admin,["message","bye"]"#)
            #expect(try await socket.nextText() == "41/admin,")
            // The connection and its other namespace stay.
            try await socket.send(#"42["message","reconnect"]"#)
            #expect(try await socket.nextText() == nil)  // the connection closes: the client reconnects
            try await waitUntil { primus.sparks.isEmpty && primus.engineIOSessionCount == 0 }
        }
    }

    @Test func primusHeartbeatsStayOffTheWire() async throws {
        try await withPrimusServer({
            socketIO(&$0) { $0.engineIO.pingInterval = .seconds(60) }
            $0.pingInterval = .milliseconds(100)
        }, setup: { primus in
            primus.onConnection { spark in spark.onMessage { message in spark.write(message.value) } }
        }) { port, primus in
            let socket = try await open(port)
            _ = try await join(socket)
            let clock = ContinuousClock()
            let start = clock.now
            // Ten Primus heartbeat windows pass: the spark's pings are answered on the server,
            // and nothing reaches the client but the echo it asks for.
            while clock.now - start < .seconds(1) {
                try await socket.send(#"42["message","tick"]"#)
                #expect(try await socket.nextText() == #"42["message","tick"]"#)
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(primus.sparks.count == 1)
        }
    }

    @Test func authorizationSeesTheAuthPayloadAndIsBoundedByTheConnectTimeout() async throws {
        try await withPrimusServer({
            socketIO(&$0) { options in
                // Long enough that a loaded machine does not hit the connection's own connect timeout
                // (it runs while nothing is joined or being authorized) between the steps.
                options.connectTimeout = .seconds(3)
                options.authorize = { request in
                    switch request.auth["token"]?.stringValue {
                    case "good": return
                    case "slow": try await Task.sleep(for: .seconds(30))
                    default: throw SocketIOConnectRefusal("Not authorized", data: ["code": 401])
                    }
                }
            }
        }, setup: { primus in
            primus.onConnection { spark in spark.write(.object(spark.auth)) }
        }) { port, _ in
            let socket = try await open(port)
            try await socket.send(#"40{"token":"nope"}"#)
            #expect(try await socket.nextText() == #"44{"message":"Not authorized","data":{"code":401}}"#)
            try await socket.send(#"40/admin,{"token":"slow"}"#)
            #expect(try await socket.nextText() == #"44/admin,{"message":"Authorization timed out"}"#)
            try await socket.send(#"40{"token":"good"}"#)
            #expect(try #require(try await socket.nextText()).hasPrefix(#"40{"sid":"#))
            #expect(try await socket.nextText() == #"42["message",{"token":"good"}]"#)
        }
    }

    @Test func unknownNamespacesAndTooManyNamespacesAreRefused() async throws {
        try await withPrimusServer({
            socketIO(&$0) { options in
                options.acceptsNamespace = { $0.hasPrefix("/room-") }
                options.maxNamespacesPerConnection = 2
            }
        }) { port, _ in
            let socket = try await open(port)
            try await socket.send("40/nope,")
            #expect(try await socket.nextText() == #"44/nope,{"message":"Invalid namespace"}"#)
            _ = try await join(socket, "/room-1")
            _ = try await join(socket, "/room-2")
            try await socket.send("40/room-3,")
            #expect(try await socket.nextText() == #"44/room-3,{"message":"Too many namespaces"}"#)
        }
    }

    @Test func aConnectionThatJoinsNothingIsClosedAtTheConnectTimeout() async throws {
        try await withPrimusServer({ socketIO(&$0) { $0.connectTimeout = .milliseconds(300) } }) { port, primus in
            let socket = try await open(port)
            #expect(try await socket.nextText() == nil)
            try await waitUntil { primus.engineIOSessionCount == 0 }
        }
    }

    @Test(arguments: [
        "4abc", "42{}", #"42abc["x"]"#, "49", #"42/admin,["message",1]"#, "40", "44{}", #"4511-["x"]"#,
    ])
    /// Malformed packets, a packet for a namespace not joined, a second CONNECT, a client's
    /// CONNECT_ERROR, more attachments than allowed (Engine.IO message packets, `4…`).
    func malformedOrOutOfStatePacketsCloseTheConnection(_ packet: String) async throws {
        try await withPrimusServer({ socketIO(&$0) }) { port, primus in
            let socket = try await open(port)
            _ = try await join(socket)
            try await socket.send(packet)
            #expect(try await socket.nextText() == nil)
            try await waitUntil { primus.sparks.isEmpty && primus.engineIOSessionCount == 0 }
        }
    }

    @Test func anAcknowledgementForAnUnknownIDIsIgnored() async throws {
        try await withPrimusServer({ socketIO(&$0) }, setup: { primus in
            primus.onConnection { spark in spark.onMessage { message in spark.write(message.value) } }
        }) { port, _ in
            let socket = try await open(port)
            _ = try await join(socket)
            try await socket.send("3999[1]")
            try await socket.send(#"42["message","still here"]"#)
            #expect(try await socket.nextText() == #"42["message","still here"]"#)
        }
    }
}
